#include "server/visibility.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// Every value withheld, every name kept.
json names_only(const EnvMap& env) {
  json out = json::object();
  for (const auto& entry : env) out[entry.first] = nullptr;
  return out;
}

}  // namespace

Viewer viewer_of(const AccessPolicy& policy, const PeerCred& peer) {
  return Viewer{static_cast<std::int64_t>(peer.uid), is_admin(policy, peer)};
}

bool may_read_all(const Viewer& viewer, const Job& job) {
  return viewer.admin || (viewer.uid >= 0 && viewer.uid == job.submitter_uid);
}

json job_view(const Job& job, const Viewer& viewer) {
  json j = job;
  if (may_read_all(viewer, job)) {
    j["redacted"] = json::array();
    return j;
  }
  j["command"] = nullptr;
  j["env"] = names_only(job.env);
  j["message"] = nullptr;
  j["redacted"] = json::array({"command", "env", "message", "output"});
  return j;
}

json jobs_view(const std::vector<Job>& jobs, const Viewer& viewer) {
  json out = json::array();
  for (const auto& job : jobs) out.push_back(job_view(job, viewer));
  return out;
}

json app_view(const App& app, const Viewer& viewer) {
  json a = app;
  if (viewer.admin) {
    a["redacted"] = json::array();
    return a;
  }
  a["env"] = names_only(app.env);
  a["webhooks"]["urls"] = nullptr;
  a["redacted"] = json::array({"env", "webhooks.urls"});
  return a;
}

json apps_view(const std::vector<App>& apps, const Viewer& viewer) {
  json out = json::array();
  for (const auto& app : apps) out.push_back(app_view(app, viewer));
  return out;
}

}  // namespace jobq
