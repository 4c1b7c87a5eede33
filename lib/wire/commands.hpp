// The protocol's command names (PROTOCOL.md), for both sides: the CLI sends
// these and jobqd's command table (commands/dispatch.cpp) is keyed by them,
// so the two cannot drift apart. `all` lists every one; a unit test checks
// that jobqd serves each and nothing else.
#pragma once

#include <array>

namespace jobq::cmd {

inline constexpr char status[] = "status";
inline constexpr char metrics[] = "metrics";
inline constexpr char stats[] = "stats";
inline constexpr char prune[] = "prune";
inline constexpr char app_create[] = "app.create";
inline constexpr char app_update[] = "app.update";
inline constexpr char app_delete[] = "app.delete";
inline constexpr char app_list[] = "app.list";
inline constexpr char app_show[] = "app.show";
inline constexpr char app_pause[] = "app.pause";
inline constexpr char app_resume[] = "app.resume";
inline constexpr char hold[] = "hold";
inline constexpr char release[] = "release";
inline constexpr char update[] = "update";
inline constexpr char retry[] = "retry";
inline constexpr char enqueue[] = "enqueue";
inline constexpr char enqueue_batch[] = "enqueue.batch";
inline constexpr char show[] = "show";
inline constexpr char list[] = "list";
inline constexpr char logs[] = "logs";
inline constexpr char wait[] = "wait";
inline constexpr char cancel[] = "cancel";
inline constexpr char schedule_create[] = "schedule.create";
inline constexpr char schedule_update[] = "schedule.update";
inline constexpr char schedule_list[] = "schedule.list";
inline constexpr char schedule_show[] = "schedule.show";
inline constexpr char schedule_pause[] = "schedule.pause";
inline constexpr char schedule_resume[] = "schedule.resume";
inline constexpr char schedule_delete[] = "schedule.delete";
inline constexpr char schedule_run[] = "schedule.run";

inline constexpr std::array<const char*, 30> all = {
    status,        metrics,       stats,          prune,           app_create,      app_update,
    app_delete,    app_list,      app_show,       app_pause,       app_resume,      hold,
    release,       update,        retry,          enqueue,         enqueue_batch,   show,
    list,          logs,          wait,           cancel,          schedule_create, schedule_update,
    schedule_list, schedule_show, schedule_pause, schedule_resume, schedule_delete, schedule_run};

}  // namespace jobq::cmd
