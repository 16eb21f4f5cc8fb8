// Throughput of KafkaLog against a real broker (not a test; run by hand, see
// tests/kafka/README.md):
//   kafka_log_bench [RECORDS=1000000] [BATCH=32768] [PAYLOAD_BYTES=150]
// Appends RECORDS records of PAYLOAD_BYTES bytes keyed by 1000 service points, in
// Appends of BATCH records, into a fresh topic; reads them all back through
// KafkaLog::Read; then times kcat consuming the same topic to /dev/null (the raw
// consume rate) and deletes the topic. Broker: $TORI_KAFKA_BROKERS.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "events/log/kafka/kafka_log.h"
#include "fmt/format.h"
#include "tests/kafka/test_support.h"

namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tori;
  const int64_t records = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const int64_t batch_size = argc > 2 ? std::atoll(argv[2]) : 32'768;
  const size_t payload_bytes = argc > 3 ? static_cast<size_t>(std::atoll(argv[3])) : 150;
  const kafka_test::ScopedTopic topic("bench");
  auto log = KafkaLog::Open(kafka_test::LocalOptions(topic.name()));
  if (!log.ok()) {
    fmt::print(stderr, "{}\n", log.status().ToString());
    return 1;
  }
  std::vector<std::string> keys, payloads;
  constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  for (int64_t i = 0; i < records; ++i) {
    keys.push_back(fmt::format("SP-{:04d}", i % 1000));
    // Half fixed text, half pseudo-random letters: compresses about as well as
    // tori's encoded events (ids, codes, timestamps).
    std::string payload = fmt::format("event {:010d} of point {} ", i, keys.back());
    while (payload.size() < payload_bytes) {
      payload += "contact_";
      for (int c = 0; c < 8; ++c) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        payload.push_back(kAlphabet[rng % (sizeof(kAlphabet) - 1)]);
      }
    }
    payload.resize(payload_bytes);
    payloads.push_back(std::move(payload));
  }
  const auto append_start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < records; first += batch_size) {
    std::vector<AppendRecord> batch;
    for (int64_t i = first; i < std::min(records, first + batch_size); ++i) {
      batch.push_back({keys[static_cast<size_t>(i)], payloads[static_cast<size_t>(i)]});
    }
    auto end = (*log)->Append(batch);
    if (!end.ok()) {
      fmt::print(stderr, "{}\n", end.status().ToString());
      return 1;
    }
  }
  const double append_s = Seconds(std::chrono::steady_clock::now() - append_start);

  const auto read_start = std::chrono::steady_clock::now();
  auto cursor = (*log)->Read(kafka_test::Zeros(**log));
  if (!cursor.ok()) {
    fmt::print(stderr, "{}\n", cursor.status().ToString());
    return 1;
  }
  int64_t read = 0;
  uint64_t bytes = 0;
  LogRecord record;
  while (true) {
    auto more = (*cursor)->Next(record);
    if (!more.ok()) {
      fmt::print(stderr, "{}\n", more.status().ToString());
      return 1;
    }
    if (!*more) break;
    ++read;
    bytes += record.payload.size();
  }
  const double read_s = Seconds(std::chrono::steady_clock::now() - read_start);
  const std::string kcat = fmt::format("kcat -C -b {} -t {} -o beginning -e -q > /dev/null",
                                       kafka_test::Brokers(), topic.name());
  const auto kcat_start = std::chrono::steady_clock::now();
  const int kcat_rc = std::system(kcat.c_str());
  const double kcat_s = Seconds(std::chrono::steady_clock::now() - kcat_start);
  fmt::print("topic {}\n", topic.name());
  fmt::print("append: {} records x {} B in batches of {}: {:.2f} s, {:.0f} records/s\n", records,
             payload_bytes, batch_size, append_s, records / append_s);
  fmt::print("read:   {} records ({} B): {:.2f} s, {:.0f} records/s\n", read, bytes, read_s,
             read / read_s);
  fmt::print("kcat:   {} records: {:.2f} s, {:.0f} records/s{}  ({})\n", records, kcat_s,
             records / kcat_s, kcat_rc == 0 ? "" : " (kcat FAILED)", kcat);
  return read == records && kcat_rc == 0 ? 0 : 1;
}
