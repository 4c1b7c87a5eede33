#include "store/sqlite_util.hpp"

namespace jobq::sql {

void fail(sqlite3* db, const std::string& what) {
  const int code = sqlite3_extended_errcode(db);
  const std::string msg = what + ": " + sqlite3_errmsg(db);
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      throw StoreError(StoreError::Kind::conflict, msg);
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      throw StoreError(StoreError::Kind::unavailable,
                       "the job store cannot be written (" + std::string(sqlite3_errmsg(db)) +
                           "); nothing was changed. Check free space and permissions of "
                           "jobqd's state directory; jobqd recovers by itself once it can write");
    default:
      throw StoreError(StoreError::Kind::io, msg);
  }
}

void exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, "sqlite");
}

Stmt::Stmt(sqlite3* db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) fail(db, "prepare");
}

namespace {
// The cache keeps at most this many idle statements of one text, and this
// many texts: a bound for the few queries built at run time (list filters).
constexpr std::size_t kIdlePerText = 4;
constexpr std::size_t kMaxTexts = 256;
}  // namespace

sqlite3_stmt* StmtCache::borrow(std::string_view sql) {
  if (auto it = idle_.find(sql); it != idle_.end() && !it->second.empty()) {
    sqlite3_stmt* st = it->second.back();
    it->second.pop_back();
    return st;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &st, nullptr) != SQLITE_OK)
    fail(db_, "prepare");
  return st;
}

void StmtCache::give_back(std::string_view sql, sqlite3_stmt* st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  auto it = idle_.find(sql);
  if (it == idle_.end() && idle_.size() < kMaxTexts)
    it = idle_.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
  if (it != idle_.end() && it->second.size() < kIdlePerText) {
    it->second.push_back(st);
    return;
  }
  sqlite3_finalize(st);
}

void StmtCache::clear() {
  for (auto& [text, list] : idle_)
    for (sqlite3_stmt* st : list) sqlite3_finalize(st);
  idle_.clear();
}

std::size_t StmtCache::size() const {
  std::size_t n = 0;
  for (const auto& entry : idle_) n += entry.second.size();
  return n;
}

Stmt::Stmt(StmtCache& cache, std::string_view sql)
    : db_(cache.db()), st_(cache.borrow(sql)), cache_(&cache) {}

Stmt::~Stmt() {
  if (cache_)
    cache_->give_back(sqlite3_sql(st_), st_);
  else
    sqlite3_finalize(st_);
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  if (sqlite3_bind_text64(st_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK)
    fail(db_, "bind");
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view v) {
  if (sqlite3_bind_blob64(st_, i, v.data(), v.size(), SQLITE_TRANSIENT) != SQLITE_OK)
    fail(db_, "bind");
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, "step");
}

void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(st_, col) == SQLITE_NULL;
}
std::int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(st_, col);
}

std::string Stmt::text(int col) const {
  const void* p = sqlite3_column_blob(st_, col);
  const int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::optional<std::int64_t> Stmt::opt_i64(int col) const {
  if (is_null(col)) return std::nullopt;
  return i64(col);
}

Transaction::Transaction(sqlite3* db) : db_(db) {
  exec(db_, "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  exec(db_, "COMMIT");
  done_ = true;
}

}  // namespace jobq::sql
