// Writes the fuzz targets' seed corpora from a JSON Lines file of events (the repo's
// examples/sample.jsonl): up to three lines of each event type as they are
// (json_line), their binary encodings (binary_decode), and small embedded logs of those
// events with small segments, each log's segment files one after the other in offset
// order, which is the input embedded_log_fuzz reads (embedded_log).
// Usage: fuzz_make_seeds EVENTS.jsonl CORPUS_DIR   (CORPUS_DIR/<target>/ must not exist)
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "events/codec/codec.h"
#include "events/log/embedded_log.h"
#include "fmt/format.h"

namespace {

namespace fs = std::filesystem;
constexpr int kLinesPerTypeMax = 3;

void Write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A log of `encoded` in segments of about `segment_bytes`, as one input.
std::string LogInput(const std::vector<std::string>& encoded, uint64_t segment_bytes) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("tori-make-seeds-{}", ::getpid());
  fs::remove_all(dir);
  std::string input;
  {
    auto log = tori::EmbeddedLog::Open(dir.string(), {.segment_bytes_target = segment_bytes});
    if (!log.ok()) throw std::runtime_error(std::string(log.status().message()));
    for (const std::string& payload : encoded) {  // one append per record: segments roll
      tori::AppendRecord record{"point", payload};
      auto appended = (*log)->Append({&record, 1});
      if (!appended.ok()) throw std::runtime_error(std::string(appended.status().message()));
    }
  }
  std::map<std::string, fs::path> segments;  // names sort in offset order
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") segments[entry.path().filename()] = entry.path();
  }
  for (const auto& [name, path] : segments) {
    std::ifstream in(path, std::ios::binary);
    input.append(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove_all(dir);
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds EVENTS.jsonl CORPUS_DIR\n");
    return 2;
  }
  const fs::path out = argv[2];
  for (const char* target : {"json_line", "binary_decode", "embedded_log"}) {
    fs::create_directories(out / target);
  }
  tori::JsonEventParser parser;
  std::map<std::string, int> lines_of_type;
  std::vector<std::string> encoded;
  std::ifstream in(argv[1]);
  std::string line;
  while (std::getline(in, line)) {
    tori::events::Event event;
    if (parser.Parse(line, event)) continue;
    int& count = lines_of_type[std::string(tori::EventTypeName(event))];
    if (count++ >= kLinesPerTypeMax) continue;
    const size_t n = encoded.size();
    Write(out / "json_line" / fmt::format("{:02d}.jsonl", n), line);
    encoded.emplace_back();
    tori::AppendEncoded(event, encoded.back());
    Write(out / "binary_decode" / fmt::format("{:02d}.bin", n), encoded.back());
  }
  // Logs of a few records to all of them, in segments of one to several records (a
  // target under the magic's 8 bytes would make EmbeddedLog roll an empty segment
  // into one of the same name).
  int log_index = 0;
  for (size_t records : {size_t{1}, size_t{3}, size_t{8}, encoded.size()}) {
    for (uint64_t segment_bytes : {uint64_t{100}, uint64_t{300}, uint64_t{1000}}) {
      const std::vector<std::string> some(encoded.begin(),
                                          encoded.begin() + static_cast<long>(std::min(records, encoded.size())));
      Write(out / "embedded_log" / fmt::format("{:02d}.log", log_index++), LogInput(some, segment_bytes));
    }
  }
  std::printf("%zu events, %d logs\n", encoded.size(), log_index);
  return 0;
}
