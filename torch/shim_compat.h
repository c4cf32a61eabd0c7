// shim_compat.h: the one place where libtorch versions differ (Debian's 1.13 CPU build and the
// 2.x CUDA builds used in Dockerfile.cuda). Everything else in the shim is version-neutral.
#ifndef SGAN_SHIM_COMPAT_H
#define SGAN_SHIM_COMPAT_H

#include <torch/version.h>

#define SGAN_STR2(x) #x
#define SGAN_STR(x) SGAN_STR2(x)
#define SGAN_TORCH_VERSION SGAN_STR(TORCH_VERSION_MAJOR) "." SGAN_STR(TORCH_VERSION_MINOR) "." SGAN_STR(TORCH_VERSION_PATCH)

#if TORCH_VERSION_MAJOR >= 2
// 2.x: the CUDA hooks take the device index type explicitly; same call shape as 1.13 otherwise.
#define SGAN_TORCH2 1
#endif

#endif
