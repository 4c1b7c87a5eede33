#include "runtime/runtime.hpp"

namespace jobq {

Runtime::~Runtime() = default;

}  // namespace jobq
