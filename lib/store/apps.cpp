// The store's applications: create, update, read, delete, and what a
// pending job waits for (app_loads). See store.hpp.
#include <nlohmann/json.hpp>

#include "base/suggest.hpp"
#include "base/time_util.hpp"
#include "model/policy.hpp"
#include "store/sqlite_util.hpp"
#include "store/store.hpp"
#include "store/store_rows.hpp"

namespace jobq {

using nlohmann::json;
using sql::Stmt;
using sql::Transaction;
using namespace rows;

App Store::create_app(const App& app) {
  std::lock_guard lock(mu_);
  App a = app;
  a.created_at = a.updated_at = now_rfc3339();
  Transaction tx(db_);
  if (app_exists_locked(a.name))
    throw StoreError(StoreError::Kind::conflict, "application '" + a.name + "' already exists");
  write_app_locked(a);
  tx.commit();
  return a;
}

void Store::write_app_locked(const App& a) {
  Stmt(
      *statements_,
      "INSERT INTO apps(name, image, max_running, env, created_at, updated_at, paused, timeout_ms, "
      "retry, resources, webhooks, pull, runtime, placement, warm) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(name) DO "
      "UPDATE SET "
      "image=excluded.image, max_running=excluded.max_running, env=excluded.env, "
      "updated_at=excluded.updated_at, paused=excluded.paused, timeout_ms=excluded.timeout_ms, "
      "retry=excluded.retry, resources=excluded.resources, webhooks=excluded.webhooks, "
      "pull=excluded.pull, runtime=excluded.runtime, placement=excluded.placement, "
      "warm=excluded.warm")
      .bind(1, a.name)
      .bind(2, a.image)
      .bind(3, a.max_running)
      .bind(4, json(a.env).dump())
      .bind(5, a.created_at)
      .bind(6, a.updated_at)
      .bind(7, a.paused ? 1 : 0)
      .bind(8, a.timeout_ms)
      .bind(9, json(a.retry).dump())
      .bind(10, json(a.resources).dump())
      .bind(11, json(a.webhooks).dump())
      .bind(12, std::string(to_string(a.pull)))
      .bind(13, a.runtime)
      .bind(14, json(a.placement).dump())
      .bind(15, a.warm)
      .run();
}

bool Store::app_exists_locked(const std::string& name) {
  Stmt exists(*statements_, "SELECT 1 FROM apps WHERE name=?");
  exists.bind(1, name);
  return exists.step();
}

std::optional<App> Store::get_app(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(*statements_, (std::string("SELECT ") + kAppColumns + " FROM apps WHERE name=?").c_str());
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_app(st);
}

std::vector<App> Store::list_apps() {
  std::lock_guard lock(mu_);
  Stmt st(*statements_,
          (std::string("SELECT ") + kAppColumns + " FROM apps ORDER BY name").c_str());
  std::vector<App> out;
  while (st.step()) out.push_back(read_app(st));
  return out;
}

std::map<std::string, AppLoad> Store::app_loads() {
  std::lock_guard lock(mu_);
  std::map<std::string, AppLoad> out;
  {
    Stmt st(*statements_, "SELECT name, image, paused, max_running FROM apps");
    while (st.step()) out[st.text(0)] = AppLoad{st.text(1), st.i64(2) != 0, st.i32(3), 0};
  }
  Stmt st(*statements_,
          "SELECT app, COUNT(*) FROM jobs WHERE state IN ('starting','running') GROUP BY app");
  while (st.step())
    if (auto it = out.find(st.text(0)); it != out.end()) it->second.running = st.i64(1);
  return out;
}

StoreError Store::no_such_app(const std::string& name) {
  std::lock_guard lock(mu_);
  return no_such_app_locked(name);
}

StoreError Store::no_such_app_locked(const std::string& name) {
  std::vector<std::string> names;
  {
    Stmt st(*statements_, "SELECT name FROM apps");
    while (st.step()) names.push_back(st.text(0));
  }
  std::string message = "no application named '" + name + "'";
  if (const std::string best = nearest_name(name, names); !best.empty())
    message += "; did you mean '" + best + "'?";
  return StoreError(StoreError::Kind::not_found, message);
}

App Store::update_app(const std::string& name, const AppUpdate& update) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt get(*statements_,
           (std::string("SELECT ") + kAppColumns + " FROM apps WHERE name=?").c_str());
  get.bind(1, name);
  if (!get.step()) throw no_such_app_locked(name);
  App a = read_app(get);
  if (update.image) a.image = *update.image;
  if (update.pull) a.pull = *update.pull;
  if (update.max_running) a.max_running = *update.max_running;
  if (update.paused) a.paused = *update.paused;
  if (update.timeout_ms) a.timeout_ms = *update.timeout_ms;
  if (update.retry) a.retry = apply_retry(a.retry, *update.retry);
  if (update.resources) a.resources = apply_resources(a.resources, *update.resources);
  if (update.webhooks) a.webhooks = apply_webhooks(a.webhooks, *update.webhooks);
  if (update.runtime) a.runtime = *update.runtime;
  if (update.placement) a.placement = apply_placement(a.placement, *update.placement);
  if (update.warm) a.warm = *update.warm;
  for (const auto& k : update.unset_env) a.env.erase(k);
  for (const auto& [k, v] : update.set_env) a.env[k] = v;
  a.updated_at = now_rfc3339();
  write_app_locked(a);
  tx.commit();
  return a;
}

std::vector<std::int64_t> Store::delete_app(const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!app_exists_locked(name)) throw no_such_app_locked(name);
  std::vector<std::int64_t> active;
  {
    Stmt st(*statements_,
            "SELECT id FROM jobs WHERE app=? AND state IN ('pending','starting','running') "
            "ORDER BY id");
    st.bind(1, name);
    while (st.step()) active.push_back(st.i64(0));
  }
  if (!active.empty() && !force)
    throw StoreError(StoreError::Kind::conflict,
                     "application '" + name + "' has " + std::to_string(active.size()) +
                         " unfinished job(s); cancel them first or delete with --force");
  const std::string now = now_rfc3339();
  std::vector<std::int64_t> pending;
  {
    Stmt st(*statements_, "SELECT id FROM jobs WHERE app=? AND state='pending' ORDER BY id");
    st.bind(1, name);
    while (st.step()) pending.push_back(st.i64(0));
  }
  Stmt cancel(*statements_,
              "UPDATE jobs SET state='cancelled', reason='application deleted', updated_at=? "
              "WHERE id=? AND state='pending'");
  for (auto id : pending) {
    cancel.reset();
    cancel.bind(1, now).bind(2, id).run();
    if (sqlite3_changes(db_) > 0) job_ended_locked(id);
  }
  Stmt(*statements_,
       "UPDATE jobs SET cancel_requested=1, reason='application deleted', updated_at=? "
       "WHERE app=? AND state IN ('starting','running')")
      .bind(1, now)
      .bind(2, name)
      .run();
  Stmt(*statements_, "DELETE FROM apps WHERE name=?").bind(1, name).run();
  tx.commit();
  return active;
}

}  // namespace jobq
