// The store's one error type: what kind of failure (not found, conflict,
// invalid, I/O, unavailable) decides the protocol error a client gets.
#pragma once

#include <stdexcept>
#include <string>

namespace jobq {

class StoreError : public std::runtime_error {
 public:
  // unavailable: the database cannot be written now (disk full, read-only,
  // I/O error); nothing was changed, and the same call may work later.
  enum class Kind { not_found, conflict, invalid, io, unavailable };
  StoreError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace jobq
