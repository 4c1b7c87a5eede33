// log_demux: Docker's multiplexed log framing, and the tail kept per stream.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/log_filter.hpp"
#include "base/log_tail.hpp"
#include "base/time_util.hpp"
#include "runtime/docker/log_demux.hpp"

using jobq::LogDemuxer;
using jobq::LogStream;
using jobq::TailBuffer;

namespace {

std::string frame(int stream, const std::string& payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  h[4] = static_cast<char>((n >> 24) & 0xff);
  h[5] = static_cast<char>((n >> 16) & 0xff);
  h[6] = static_cast<char>((n >> 8) & 0xff);
  h[7] = static_cast<char>(n & 0xff);
  return h + payload;
}

struct Collected {
  std::string out, err;
  std::vector<std::pair<LogStream, std::string>> chunks;
};

LogDemuxer collector(Collected& c) {
  return LogDemuxer([&c](LogStream s, std::string_view bytes) {
    (s == LogStream::stdout_stream ? c.out : c.err).append(bytes);
    c.chunks.emplace_back(s, std::string(bytes));
  });
}

// Interleaved stdout and stderr, one frame bigger than 255 bytes (so the
// size's upper bytes matter) and payload bytes that look like headers.
std::string sample_stream() {
  return frame(1, "hello ") + frame(2, "warning: x\n") + frame(1, std::string(300, 'a')) +
         frame(2, std::string("\x01\0\0\0\0\0\0\x05", 8)) + frame(1, "world\n");
}
const std::string kOut = "hello " + std::string(300, 'a') + "world\n";
const std::string kErr = "warning: x\n" + std::string("\x01\0\0\0\0\0\0\x05", 8);

}  // namespace

TEST_CASE("LogDemuxer splits interleaved frames by stream") {
  Collected c;
  auto d = collector(c);
  d.feed(sample_stream());
  CHECK(c.out == kOut);
  CHECK(c.err == kErr);
  CHECK_FALSE(d.incomplete());
  REQUIRE(c.chunks.size() == 5);
  CHECK(c.chunks[0].first == LogStream::stdout_stream);
  CHECK(c.chunks[1].first == LogStream::stderr_stream);
  CHECK(c.chunks[1].second == "warning: x\n");
}

TEST_CASE("LogDemuxer gives the same result fed one byte at a time") {
  const std::string s = sample_stream();
  Collected c;
  auto d = collector(c);
  for (char ch : s) d.feed(std::string_view(&ch, 1));
  CHECK(c.out == kOut);
  CHECK(c.err == kErr);
  CHECK_FALSE(d.incomplete());
}

TEST_CASE("LogDemuxer gives the same result for every split into two slices") {
  const std::string s = sample_stream();
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Collected c;
    auto d = collector(c);
    d.feed(std::string_view(s).substr(0, cut));
    d.feed(std::string_view(s).substr(cut));
    CAPTURE(cut);
    CHECK(c.out == kOut);
    CHECK(c.err == kErr);
    CHECK_FALSE(d.incomplete());
  }
}

TEST_CASE("LogDemuxer drops payload of stdin (0) and unknown streams, keeps framing") {
  Collected c;
  auto d = collector(c);
  d.feed(frame(0, "from stdin") + frame(1, "A") + frame(3, "stream three") + frame(2, "B") +
         frame(255, "junk") + frame(1, "C"));
  CHECK(c.out == "AC");
  CHECK(c.err == "B");
  CHECK(c.chunks.size() == 3);
  CHECK_FALSE(d.incomplete());
}

TEST_CASE("LogDemuxer handles a zero-length frame") {
  Collected c;
  auto d = collector(c);
  d.feed(frame(1, ""));
  CHECK_FALSE(d.incomplete());
  d.feed(frame(2, "") + frame(1, "x"));
  CHECK(c.out == "x");
  CHECK(c.err.empty());
  CHECK_FALSE(d.incomplete());
}

TEST_CASE("LogDemuxer reports a stream that ends inside a frame") {
  const std::string f = frame(1, "0123456789");
  SUBCASE("inside the header") {
    Collected c;
    auto d = collector(c);
    d.feed(f.substr(0, 5));
    CHECK(d.incomplete());
    CHECK(c.out.empty());
  }
  SUBCASE("inside the payload") {
    Collected c;
    auto d = collector(c);
    d.feed(f.substr(0, 12));
    CHECK(d.incomplete());
    CHECK(c.out == "0123");  // what arrived is passed on
    d.feed(f.substr(12));
    CHECK_FALSE(d.incomplete());
    CHECK(c.out == "0123456789");
  }
  SUBCASE("nothing fed") {
    Collected c;
    auto d = collector(c);
    d.feed("");
    CHECK_FALSE(d.incomplete());
  }
}

TEST_CASE("TailBuffer keeps everything below its cap") {
  TailBuffer t(16);
  t.append("hello ");
  t.append("world");
  CHECK_FALSE(t.truncated());
  CHECK(t.total_bytes() == 11);
  CHECK(t.take() == "hello world");
}

TEST_CASE("TailBuffer at exactly its cap is not truncated") {
  TailBuffer t(4);
  t.append("ab");
  t.append("cd");
  CHECK_FALSE(t.truncated());
  CHECK(t.total_bytes() == 4);
  CHECK(t.take() == "abcd");
}

TEST_CASE("TailBuffer keeps exactly the last N bytes however it is fed") {
  std::string all;
  for (int i = 0; i < 1000; ++i) all += static_cast<char>('a' + i % 26);
  for (std::size_t cap : {1u, 7u, 10u, 64u, 999u}) {
    for (std::size_t piece : {1u, 3u, 10u, 100u, 1000u}) {
      TailBuffer t(cap);
      for (std::size_t i = 0; i < all.size(); i += piece)
        t.append(std::string_view(all).substr(i, piece));
      CAPTURE(cap);
      CAPTURE(piece);
      CHECK(t.truncated());
      CHECK(t.total_bytes() == 1000);
      CHECK(t.take() == all.substr(all.size() - cap));
    }
  }
}

TEST_CASE("TailBuffer with a single append larger than the cap") {
  TailBuffer t(3);
  t.append("x");
  t.append("0123456789");
  CHECK(t.truncated());
  CHECK(t.total_bytes() == 11);
  CHECK(t.take() == "789");
}

TEST_CASE("TailBuffer with cap 0 keeps nothing but counts") {
  TailBuffer t(0);
  CHECK_FALSE(t.truncated());
  t.append("");
  CHECK_FALSE(t.truncated());
  t.append("abc");
  t.append("de");
  CHECK(t.truncated());
  CHECK(t.total_bytes() == 5);
  CHECK(t.take().empty());
}

TEST_CASE("timestamped tail: the cap counts content, not timestamps; whole lines kept") {
  const std::string ts = "2026-11-21T02:00:00.123456789Z ";
  jobq::TimestampedTail tail(10);
  for (int i = 0; i < 5; ++i)
    tail.append(ts + "line" + std::to_string(i) + "\n");  // 6 content bytes each
  CHECK(tail.total_bytes() == 30);
  CHECK(tail.truncated());
  const auto kept = tail.take();
  // "line4\n" (6) whole and the last 4 bytes of "line3\n", after its timestamp.
  CHECK(kept == ts + "ne3\n" + ts + "line4\n");
  jobq::TimestampedTail small(100);
  small.append(ts + "a");
  small.append("b\n" + ts + "c");
  CHECK(small.total_bytes() == 4);
  CHECK_FALSE(small.truncated());
  CHECK(small.take() == ts + "ab\n" + ts + "c");
}

TEST_CASE("filter_log: --tail, --since and --timestamps on stored output") {
  const std::string data =
      "2026-11-21T02:00:01Z one\n"
      "2026-11-21T02:00:02.5Z two\n"
      "2026-11-21T02:00:03Z three";  // no final newline
  jobq::LogFilter f;
  CHECK(jobq::filter_log(data, true, f) == "one\ntwo\nthree");
  f.timestamps = true;
  CHECK(jobq::filter_log(data, true, f) == data);
  f = {};
  f.tail = 2;
  CHECK(jobq::filter_log(data, true, f) == "two\nthree");
  f.tail = 0;
  CHECK(jobq::filter_log(data, true, f).empty());
  f = {};
  f.since_ns = *jobq::parse_rfc3339_ns("2026-11-21T02:00:02.5Z");
  CHECK(jobq::filter_log(data, true, f) == "two\nthree");
  // A first line cut before its timestamp is shown, unless a time is asked for.
  const std::string cut = "e\n2026-11-21T02:00:03Z three\n";
  CHECK(jobq::filter_log(cut, true, {}) == "e\nthree\n");
  CHECK(jobq::filter_log(cut, true, f) == "three\n");
  // Output stored without timestamps (older jobq) is shown as it is.
  CHECK(jobq::filter_log("2026-11-21T02:00:03Z x\n", false, {}) == "2026-11-21T02:00:03Z x\n");
  jobq::LogFilter last;
  last.tail = 1;
  CHECK(jobq::filter_log("a\nb\n", false, last) == "b\n");
}

TEST_CASE("a long line cut into frames keeps one timestamp, at its start") {
  auto frame = [](int stream, const std::string& payload) {
    std::string f(8, '\0');
    f[0] = static_cast<char>(stream);
    const auto n = static_cast<std::uint32_t>(payload.size());
    f[4] = static_cast<char>(n >> 24);
    f[5] = static_cast<char>(n >> 16);
    f[6] = static_cast<char>(n >> 8);
    f[7] = static_cast<char>(n);
    return f + payload;
  };
  const std::string t1 = "2026-11-21T02:00:00.000000001Z ", t2 = "2026-11-21T02:00:00.000000002Z ";
  const std::string input = frame(1, t1 + "aaaa") + frame(2, t1 + "err\n") +
                            frame(1, t2 + "bbbb\n") + frame(1, t2 + "next\n");
  for (std::size_t slice : {std::size_t{1}, std::size_t{3}, input.size()}) {
    std::string out, err;
    jobq::LogDemuxer d(
        [&](jobq::LogStream s, std::string_view b) {
          (s == jobq::LogStream::stdout_stream ? out : err).append(b);
        },
        true);
    for (std::size_t i = 0; i < input.size(); i += slice)
      d.feed(std::string_view(input).substr(i, slice));
    CHECK(out == t1 + "aaaabbbb\n" + t2 + "next\n");
    CHECK(err == t1 + "err\n");
  }
}
