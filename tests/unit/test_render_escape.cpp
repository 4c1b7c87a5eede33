// render: what a user controls never reaches the terminal as a control
// sequence (visible(), and every human view that prints user text); what
// the daemon withheld is said so.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "render.hpp"

using nlohmann::json;
namespace render = jobq::render;

namespace {

// OSC 52 (write the clipboard), a C1 CSI in UTF-8, a title change, BEL,
// DEL, a screen clear: valid UTF-8, as JSON from jobqd always is.
const std::string kHostile = std::string("x\x1b]52;c;ZWNobyBwd25lZA==\x07") + "\xc2\x9b" + "2J" +
                             "\x1b]0;owned\x1b\\" + "\x7f" + "\x1b[2J" + "\r";

// The first byte that a terminal would act on: C0 but newline, DEL, a C1
// control in UTF-8, or any byte that is not valid UTF-8 (0x80..0xff alone).
std::string first_control(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f)
      return "byte " + std::to_string(c) + " at " + std::to_string(i);
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f)
      return "C1 at " + std::to_string(i);
    if (c == 0x9b && (i == 0 || static_cast<unsigned char>(s[i - 1]) < 0xc2))
      return "raw 0x9b at " + std::to_string(i);
  }
  return "";
}

}  // namespace

TEST_CASE("visible escapes C0, DEL, C1, ESC sequences; keeps valid UTF-8; escapes invalid bytes") {
  CHECK(render::visible("plain text, 'quoted' and \\ backslash") ==
        "plain text, 'quoted' and \\ backslash");
  CHECK(render::visible("h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82") ==
        "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82");
  CHECK(render::visible("\x1b]52;c;aGk=\x07") == "\\x1b]52;c;aGk=\\x07");
  CHECK(render::visible("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(render::visible(std::string("\0z", 2)) == "\\x00z");
  CHECK(render::visible("\x7f") == "\\x7f");
  CHECK(render::visible("\xc2\x9b"
                        "2J") == "\\u009b2J");      // CSI, as UTF-8
  CHECK(render::visible("\xc2\x85") == "\\u0085");  // NEL
  CHECK(render::visible("\x9b"
                        "2J") == "\\x9b2J");  // CSI, as a raw byte
  CHECK(render::visible("\xe2\x80\xae"
                        "gpj.exe") == "\\u202egpj.exe");                 // right-to-left override
  CHECK(render::visible("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  CHECK(render::visible("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // a surrogate
  CHECK(render::visible("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  CHECK(render::visible("ab\xe2\x9c") == "ab\\xe2\\x9c");                // cut short
  CHECK(render::visible("\xff") == "\\xff");
  const std::string once = render::visible(kHostile + "\x9b" + "1m");  // and a raw CSI byte
  CHECK(first_control(once).empty());
  CHECK(render::visible(once) == once);
}

TEST_CASE("every human view escapes what users wrote") {
  const json job{{"id", 7},
                 {"app", "web"},
                 {"state", "failed"},
                 {"reason", "by hand " + kHostile},
                 {"exit_code", 1},
                 {"command", {"sh", "-c", kHostile}},
                 {"env", {{"TOKEN", kHostile}}},
                 {"message", {{"m", kHostile}}},
                 {"labels", {{"team", kHostile}}},
                 {"key", kHostile},
                 {"submitted_by", {{"uid", 1000}, {"user", "alice"}}},
                 {"attempts", json::array({json{{"number", 1},
                                                {"state", "failed"},
                                                {"container_name", "jobq-x-7-1"},
                                                {"error", kHostile},
                                                {"reason", nullptr}}})}};
  const json app{{"name", "web"},
                 {"image", "img"},
                 {"env", {{"DSN", kHostile}}},
                 {"webhooks", {{"urls", {"http://h/" + kHostile}}, {"on", {"success"}}}}};
  std::ostringstream detail, table, app_detail, app_table, status, stats;
  render::job_detail(detail, job);
  render::job_table(table, json::array({job}));
  render::app_detail(app_detail, app);
  render::app_table(app_table, json::array({app}));
  render::status(status, {{"engine", {{"reachable", false}, {"error", kHostile}}},
                          {"unknown_containers", {kHostile}},
                          {"apps", json::array({json{{"name", kHostile}}})}});
  render::stats(stats, {{"since", kHostile}, {"apps", json::array({json{{"app", kHostile}}})}});
  for (const auto* out : {&detail, &table, &app_detail, &app_table, &status, &stats}) {
    CAPTURE(out->str());
    CHECK(first_control(out->str()).empty());
  }
  CHECK(detail.str().find("\\x1b]52;c;") != std::string::npos);  // shown, not hidden
  CHECK(first_control(render::outcome(job)).empty());
}

TEST_CASE("what the daemon withheld is said so, not shown as absent") {
  const json job{{"id", 7},
                 {"app", "web"},
                 {"state", "running"},
                 {"command", nullptr},
                 {"env", {{"API_TOKEN", nullptr}}},
                 {"message", nullptr},
                 {"submitted_by", {{"uid", 1000}, {"user", "alice"}}},
                 {"redacted", {"command", "env", "message", "output"}}};
  std::ostringstream out;
  render::job_detail(out, job);
  const std::string s = out.str();
  CHECK(s.find("(image default)") == std::string::npos);
  CHECK(s.find("command:") != std::string::npos);
  CHECK(s.find("API_TOKEN=(withheld)") != std::string::npos);
  CHECK(s.find("output:") != std::string::npos);
  CHECK(s.find("(withheld: only its owner and admins see it)") != std::string::npos);

  std::ostringstream a;
  render::app_detail(a, {{"name", "web"},
                         {"env", {{"DSN", nullptr}}},
                         {"webhooks", {{"urls", nullptr}, {"on", {"success"}}}},
                         {"redacted", {"env", "webhooks.urls"}}});
  CHECK(a.str().find("DSN=(withheld)") != std::string::npos);
  CHECK(a.str().find("(withheld: admins only)") != std::string::npos);

  std::ostringstream cancelled;
  render::job_detail(cancelled,
                     {{"id", 8},
                      {"state", "cancelled"},
                      {"cancelled_by", {{"uid", 0}, {"user", "root"}, {"admin", true}}}});
  CHECK(cancelled.str().find("cancelled by:") != std::string::npos);
  CHECK(cancelled.str().find("root (uid 0), an admin: only an admin may retry it") !=
        std::string::npos);
}
