// Who may read what of a job or an application, as the JSON sent to a client.
//
// Jobs: the job's owner (the uid that enqueued it) and admins (access.hpp)
// see everything. Any other member of the socket group sees the metadata:
// id, app, state, reason, exit code, times, who submitted it, labels, key,
// priority, dependencies, limits and attempts (states, exit codes, container
// names). Withheld from them: the command line (arguments often carry
// passwords and tokens), the env values (names stay visible), the message,
// and the output (`logs` refuses them with `forbidden`). A withheld field is
// null (an env value: null under its name), and the view's "redacted" list
// names each withheld field ("command", "env", "message", "output"); the list
// is always there, empty for a full view, so a script can tell "withheld"
// from "none".
//
// Applications: env values and webhook URLs (which often carry tokens) are
// for admins only. For others each env value is null, "webhooks.urls" is
// null, and "redacted" names "env" and "webhooks.urls".
//
// Webhook bodies are not views: they go to the URLs an admin set.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.hpp"
#include "server/access.hpp"

namespace jobq {

// Who is asking: their uid and whether they are an admin.
struct Viewer {
  std::int64_t uid = -1;
  bool admin = false;
};

Viewer viewer_of(const AccessPolicy& policy, const PeerCred& peer);

// The owner of the job, or an admin.
bool may_read_all(const Viewer& viewer, const Job& job);

nlohmann::json job_view(const Job& job, const Viewer& viewer);
nlohmann::json jobs_view(const std::vector<Job>& jobs, const Viewer& viewer);
nlohmann::json app_view(const App& app, const Viewer& viewer);
nlohmann::json apps_view(const std::vector<App>& apps, const Viewer& viewer);

}  // namespace jobq
