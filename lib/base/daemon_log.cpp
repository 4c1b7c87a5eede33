#include "base/daemon_log.hpp"

#include <mutex>
#include <string>
#include <string_view>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/systemd.hpp"

namespace jobq {

namespace {

// "<N>" before every line of the message; the journal adds the time.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(std::FILE* out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string prefix = "<" + std::to_string(journal_priority(msg.level)) + ">";
    const std::string_view text(msg.payload.data(), msg.payload.size());
    std::string lines;
    lines.reserve(text.size() + prefix.size() + 1);
    std::size_t start = 0;
    while (true) {
      const std::size_t end = text.find('\n', start);
      lines += prefix;
      lines.append(
          text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
      lines += '\n';
      if (end == std::string_view::npos || end + 1 == text.size()) break;
      start = end + 1;
    }
    std::fwrite(lines.data(), 1, lines.size(), out_);
    std::fflush(out_);
  }
  void flush_() override { std::fflush(out_); }

 private:
  std::FILE* out_;
};

}  // namespace

LogStyle daemon_log_style() {
  return systemd::stderr_is_journal_stream() ? LogStyle::journal : LogStyle::plain;
}

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG: debug and trace
  }
}

std::shared_ptr<spdlog::logger> make_journal_logger(std::FILE* out) {
  return std::make_shared<spdlog::logger>("jobqd", std::make_shared<JournalSink>(out));
}

void setup_daemon_log(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (daemon_log_style() == LogStyle::journal)
    logger = make_journal_logger(stderr);
  else
    logger = std::make_shared<spdlog::logger>(
        "jobqd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace jobq
