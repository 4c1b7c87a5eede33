// Thin RAII helpers over the SQLite C API: a prepared statement with typed
// binds and columns, and a transaction that rolls back unless committed.
// Errors throw StoreError (kind io, or conflict for constraint violations).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "store/store_error.hpp"

namespace jobq::sql {

[[noreturn]] void fail(sqlite3* db, const std::string& what);
void exec(sqlite3* db, const char* sql);

// Prepared statements kept for reuse, keyed by their SQL text: preparing
// costs more than running most of the store's queries. A Stmt made from the
// cache borrows one (or prepares a new one when all of that text are in use,
// as in a nested use) and gives it back reset, cursor closed and bindings
// cleared, when it goes out of scope: so no statement keeps a read snapshot
// open (which would stop WAL checkpoints) past the scope that used it.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() { clear(); }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }
  sqlite3_stmt* borrow(std::string_view sql);
  void give_back(std::string_view sql, sqlite3_stmt* st);
  void clear();  // finalizes all (before the connection closes)
  std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, Hash, std::equal_to<>> idle_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);            // prepared for this use only
  Stmt(StmtCache& cache, std::string_view sql);  // borrowed from the cache
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind_blob(int i, std::string_view v);
  Stmt& bind_null(int i);
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  bool step();  // true: a row is ready
  void run() { step(); }
  void reset();

  bool is_null(int col) const;
  std::int64_t i64(int col) const;
  int i32(int col) const { return static_cast<int>(i64(col)); }
  std::string text(int col) const;
  std::optional<std::int64_t> opt_i64(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  StmtCache* cache_ = nullptr;
};

class Transaction {
 public:
  explicit Transaction(sqlite3* db);  // BEGIN IMMEDIATE
  ~Transaction();
  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace jobq::sql
