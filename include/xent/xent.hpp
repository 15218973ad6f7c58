#pragma once
// Umbrella header: the whole public API of xent.
#include "xent/any_view.hpp"
#include "xent/half.hpp"
#include "xent/kernels.hpp"
#include "xent/losses.hpp"
#include "xent/metrics.hpp"
#include "xent/options.hpp"
#include "xent/quantized.hpp"
#include "xent/shape.hpp"
#include "xent/status.hpp"
#include "xent/version.hpp"
