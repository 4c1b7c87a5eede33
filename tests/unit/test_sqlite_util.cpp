// sqlite_util: the prepared-statement cache lends a statement, takes it back
// reset (no open cursor, no bindings), and lends it again; a text already in
// use gets a statement of its own.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include "store/sqlite_util.hpp"

using jobq::sql::Stmt;
using jobq::sql::StmtCache;

namespace {
struct Db {
  sqlite3* db = nullptr;
  Db() {
    REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
    jobq::sql::exec(db, "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1),(2),(3)");
  }
  ~Db() { sqlite3_close(db); }
  int busy() const {
    int n = 0;
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st))
      n += sqlite3_stmt_busy(st) ? 1 : 0;
    return n;
  }
  int prepared() const {
    int n = 0;
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st)) ++n;
    return n;
  }
};
}  // namespace

TEST_CASE("a cached statement is reused, and given back reset") {
  Db d;
  {
    StmtCache cache(d.db);
    const char* q = "SELECT x FROM t WHERE x>=? ORDER BY x";
    {
      Stmt st(cache, q);
      st.bind(1, 2);
      REQUIRE(st.step());
      CHECK(st.i64(0) == 2);
      CHECK(d.busy() == 1);  // left on a row
    }
    CHECK(d.busy() == 0);  // the scope's end reset it
    CHECK(cache.size() == 1);
    {
      Stmt st(cache, q);  // the same one, bindings cleared: NULL matches nothing
      CHECK_FALSE(st.step());
      CHECK(d.prepared() == 1);
    }
    {
      Stmt outer(cache, q);  // a nested use of the same text
      outer.bind(1, 1);
      REQUIRE(outer.step());
      Stmt inner(cache, q);
      inner.bind(1, 3);
      REQUIRE(inner.step());
      CHECK(inner.i64(0) == 3);
      CHECK(outer.i64(0) == 1);  // untouched by the inner use
      CHECK(d.prepared() == 2);
    }
    CHECK(cache.size() == 2);
    CHECK(d.busy() == 0);
  }
  CHECK(d.prepared() == 0);  // the cache finalizes all it holds
}
