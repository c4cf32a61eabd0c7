// shim_dist.cpp: data-parallel collectives over torch.distributed (c10d): a TCPStore rendezvous
// (or, for the workers of one machine, a FileStore: nothing listens on the network for it),
// a Gloo process group (every libtorch build with c10d) or, in builds with SGAN_NCCL (-tags cuda),
// an NCCL one; bucketed allreduce, broadcast and barrier, each waited on with the group's timeout
// so that a dead or stuck peer ends the job with an error instead of a hang.
// The c10d headers hide each backend behind the macro libtorch itself was built with.
//
// Gloo's own headers ship with Debian's libtorch-dev (libgloo-dev) but not in the pip wheels that
// the CUDA image takes libtorch from; there the Gloo backend is left out (NCCL does the GPU work)
// and asking for it is an error. SGAN_NO_GLOO forces that configuration (scripts/check-torch2).
#if __has_include(<gloo/config.h>) && !defined(SGAN_NO_GLOO)
#define SGAN_GLOO 1
#endif
#if !defined(SGAN_GLOO) && !defined(SGAN_NCCL)
#error "sgan: no data-parallel backend: Gloo's headers (gloo/config.h) are missing and this is not a CUDA (-tags cuda) build; install them (Debian: libgloo-dev)"
#endif
#if defined(SGAN_GLOO) && !defined(USE_C10D_GLOO)
#define USE_C10D_GLOO 1
#endif
#if defined(SGAN_NCCL) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#ifdef SGAN_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SGAN_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "shim_internal.h"

struct sg_pg_s {
  c10::intrusive_ptr<::c10d::Store> store;
#ifdef SGAN_GLOO
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> gloo;
#endif
#ifdef SGAN_NCCL
  c10::intrusive_ptr<::c10d::ProcessGroupNCCL> nccl;
#endif
  std::chrono::milliseconds timeout{300000};
  int rank = 0, world = 1;
  // After a failed or timed-out collective the backend's worker threads may still be blocked on a
  // peer; destroying it would join them and hang, so a broken group is leaked at free (the
  // process is about to exit anyway).
  bool broken = false;
};

namespace {

using sgshim::T;

bool is_loopback(const std::string& h) {
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

#ifdef SGAN_GLOO
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& host) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != 0) {
    return ::c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  // Every rank on this machine: bind to loopback, which always resolves. Otherwise bind to the
  // address this machine's hostname resolves to (as torch.distributed does).
  if (is_loopback(host)) return ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return ::c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

// Calls f with the backend, whichever it is (the backends share the collective signatures but
// not a base class across libtorch versions).
template <class F>
auto with_backend(sg_pg pg, F f) {
  if (pg == nullptr) throw std::invalid_argument("process group is closed");
#ifdef SGAN_NCCL
  if (pg->nccl) return f(*pg->nccl);
#endif
#ifdef SGAN_GLOO
  return f(*pg->gloo);
#else
  throw std::logic_error("process group has no backend");
#endif
}

void wait(sg_pg pg, const c10::intrusive_ptr<::c10d::Work>& w, const char* what) {
  try {
    w->wait(pg->timeout);
  } catch (const std::exception& e) {
    pg->broken = true;
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(pg->rank) + " of " +
                             std::to_string(pg->world) + " (a peer process died, hung or was stopped; timeout " +
                             std::to_string(pg->timeout.count() / 1000) + " s): " +
                             sgshim::trim_c10(e.what()));
  }
}

// A bucket: tensors of one dtype and device, packed into one flat buffer for the collective.
struct Bucket {
  std::vector<at::Tensor> ts;
  at::Tensor flat;
  bool direct = false;  // a single contiguous tensor, reduced in place through a flat view
};

std::vector<Bucket> make_buckets(const sg_tensor* ts, int n, int64_t bucket_bytes) {
  std::vector<Bucket> out;
  // Open bucket per (dtype, device), in order of first appearance.
  std::map<std::pair<int, std::string>, size_t> open;
  std::vector<int64_t> bytes;
  for (int i = 0; i < n; i++) {
    at::Tensor t = T(ts[i]).detach();
    if (!t.defined() || t.numel() == 0) continue;
    auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    int64_t nb = t.numel() * static_cast<int64_t>(t.element_size());
    auto it = open.find(key);
    if (it == open.end() || (bucket_bytes > 0 && bytes[it->second] + nb > bucket_bytes)) {
      out.emplace_back();
      bytes.push_back(0);
      open[key] = out.size() - 1;
      it = open.find(key);
    }
    out[it->second].ts.push_back(t);
    bytes[it->second] += nb;
  }
  for (auto& b : out) {
    if (b.ts.size() == 1 && b.ts[0].is_contiguous()) {
      b.direct = true;
      b.flat = b.ts[0].view({-1});
      continue;
    }
    std::vector<at::Tensor> parts;
    parts.reserve(b.ts.size());
    for (auto& t : b.ts) parts.push_back(t.reshape({-1}));
    b.flat = at::cat(parts, 0);
  }
  return out;
}

void unpack(Bucket& b) {
  if (b.direct) return;
  int64_t off = 0;
  for (auto& t : b.ts) {
    int64_t k = t.numel();
    t.copy_(b.flat.narrow(0, off, k).view(t.sizes()));
    off += k;
  }
}

}  // namespace

extern "C" {

int sg_pg_has_nccl(void) {
#ifdef SGAN_NCCL
  return 1;
#else
  return 0;
#endif
}

sg_err sg_pg_new(int backend, const char* host, int port, const char* store_file, int rank, int world,
                 int64_t timeout_ms, sg_pg* out) {
  SG_TRY
  *out = nullptr;
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world));
  bool file = store_file != nullptr && *store_file != 0;
  if (!file && (port <= 0 || port > 65535)) throw std::invalid_argument("port " + std::to_string(port) + " is out of range");
  auto pg = std::make_unique<sg_pg_s>();
  pg->timeout = std::chrono::milliseconds(timeout_ms);
  pg->rank = rank;
  pg->world = world;
  if (file) {
    // The workers of one machine meet in a file (torch.distributed's file:// init): c10d's
    // TCPStore server listens on every interface, with no option to bind it (1.13 or 2.x).
    try {
      pg->store = c10::make_intrusive<::c10d::FileStore>(std::string(store_file), world);
      pg->store->setTimeout(pg->timeout);
    } catch (const std::exception& e) {
      throw std::runtime_error("rendezvous file " + std::string(store_file) + " (rank " + std::to_string(rank) +
                               " of " + std::to_string(world) + ") failed: " + sgshim::trim_c10(e.what()));
    }
  } else {
    ::c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    so.isServer = rank == 0;
    so.numWorkers = static_cast<std::size_t>(world);
    so.waitWorkers = true;
    so.timeout = pg->timeout;
    try {
      pg->store = c10::make_intrusive<::c10d::TCPStore>(std::string(host), so);
    } catch (const std::exception& e) {
      throw std::runtime_error("rendezvous at " + std::string(host) + ":" + std::to_string(port) + " (rank " +
                               std::to_string(rank) + " of " + std::to_string(world) + ") failed: " +
                               sgshim::trim_c10(e.what()));
    }
  }
  switch (backend) {
    case 0: {
#ifdef SGAN_GLOO
      auto opts = ::c10d::ProcessGroupGloo::Options::create(pg->timeout);
      // A file rendezvous means one machine: Gloo's connections stay on loopback whatever
      // GLOO_SOCKET_IFNAME says.
      opts->devices.push_back(file ? ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1") : gloo_device(host));
      pg->gloo = c10::make_intrusive<::c10d::ProcessGroupGloo>(pg->store, rank, world, opts);
      break;
#else
      throw std::invalid_argument(
          "this build has no Gloo backend (libtorch's headers came without Gloo's): use NCCL on GPUs, "
          "or build with Gloo's headers installed (Debian: libgloo-dev)");
#endif
    }
    case 1: {
#ifdef SGAN_NCCL
      auto opts = ::c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = pg->timeout;
      pg->nccl = c10::make_intrusive<::c10d::ProcessGroupNCCL>(pg->store, rank, world, opts);
      break;
#else
      throw std::invalid_argument("this build has no NCCL backend (build with -tags cuda against a CUDA libtorch)");
#endif
    }
    default: throw std::invalid_argument("unknown backend code " + std::to_string(backend));
  }
  *out = pg.release();
  SG_END
}

void sg_pg_free(sg_pg pg) {
  if (pg == nullptr) return;
  if (pg->broken) return;  // see sg_pg_s::broken
  try {
    delete pg;
  } catch (...) {
  }
}

sg_err sg_pg_allreduce(sg_pg pg, const sg_tensor* ts, int n, double scale, int64_t bucket_bytes) {
  SG_TRY
  at::NoGradGuard ng;
  auto buckets = make_buckets(ts, n, bucket_bytes);
  std::vector<c10::intrusive_ptr<::c10d::Work>> works;
  ::c10d::AllreduceOptions o;
  o.reduceOp = ::c10d::ReduceOp::SUM;
  o.timeout = pg->timeout;
  // Every bucket in flight at once; the backend keeps them in order across ranks.
  for (auto& b : buckets) {
    std::vector<at::Tensor> v{b.flat};
    works.push_back(with_backend(pg, [&](auto& be) { return be.allreduce(v, o); }));
  }
  for (size_t i = 0; i < buckets.size(); i++) {
    wait(pg, works[i], "allreduce");
    if (scale != 1.0) buckets[i].flat.mul_(scale);
    unpack(buckets[i]);
  }
  SG_END
}

sg_err sg_pg_broadcast(sg_pg pg, const sg_tensor* ts, int n, int root, int64_t bucket_bytes) {
  SG_TRY
  at::NoGradGuard ng;
  if (root < 0 || root >= pg->world) throw std::invalid_argument("broadcast root " + std::to_string(root) + " is outside the world");
  auto buckets = make_buckets(ts, n, bucket_bytes);
  std::vector<c10::intrusive_ptr<::c10d::Work>> works;
  ::c10d::BroadcastOptions o;
  o.rootRank = root;
  o.rootTensor = 0;
  o.timeout = pg->timeout;
  for (auto& b : buckets) {
    std::vector<at::Tensor> v{b.flat};
    works.push_back(with_backend(pg, [&](auto& be) { return be.broadcast(v, o); }));
  }
  for (size_t i = 0; i < buckets.size(); i++) {
    wait(pg, works[i], "broadcast");
    unpack(buckets[i]);
  }
  SG_END
}

sg_err sg_pg_barrier(sg_pg pg) {
  SG_TRY
  ::c10d::BarrierOptions o;
  o.timeout = pg->timeout;
  auto w = with_backend(pg, [&](auto& be) { return be.barrier(o); });
  wait(pg, w, "barrier");
  SG_END
}

}  // extern "C"
