// Runtimes: the runtimes one jobqd drives, by kind ("docker", "swarm"). An
// application names its runtime (App::runtime) and each attempt records the
// one that ran it, so the runner launches through the application's and the
// poller, the log readers and cancel reach a run through its attempt's.
// Holds them without owning them; the first added is the default, whose
// engine `jobq status` reports first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/runtime.hpp"

namespace jobq {

class Runtimes {
 public:
  Runtimes() = default;
  Runtimes(std::initializer_list<Runtime*> runtimes) {
    for (Runtime* r : runtimes) add(*r);
  }
  void add(Runtime& r) { all_.push_back(&r); }

  // nullptr when this jobqd has no runtime of that kind.
  Runtime* find(std::string_view kind) const {
    for (Runtime* r : all_)
      if (r->kind() == kind) return r;
    return nullptr;
  }
  // Throws EngineError (rejected) naming the kinds there are.
  Runtime& get(std::string_view kind) const {
    if (Runtime* r = find(kind)) return *r;
    throw EngineError(
        EngineError::Kind::rejected, 0,
        "this jobqd has no runtime '" + std::string(kind) + "' (it has " + names() + ")");
  }
  Runtime& primary() const { return *all_.front(); }
  const std::vector<Runtime*>& all() const { return all_; }
  // "docker, swarm"
  std::string names() const {
    std::string out;
    for (Runtime* r : all_) out += (out.empty() ? "" : ", ") + r->kind();
    return out;
  }

 private:
  std::vector<Runtime*> all_;
};

}  // namespace jobq
