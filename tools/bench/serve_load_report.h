// What tori-serve-load counts for one scenario group, and how it prints it: one JSON
// object per group on stdout, a human table on stderr, markdown rows for BENCHMARKS.md.
//
// Thread safety: none; the generator's one io_context thread owns every GroupStats.
#ifndef TORI_TOOLS_BENCH_SERVE_LOAD_REPORT_H_
#define TORI_TOOLS_BENCH_SERVE_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tori::bench {

enum class Scenario { kPostSingle, kPostBatch, kReadInvoice, kReadExplain };

const char* ScenarioName(Scenario scenario);
inline bool IsPost(Scenario s) { return s == Scenario::kPostSingle || s == Scenario::kPostBatch; }

// One group of connections running one scenario (the issue's "50 front desks posting
// single contacts" is one group).
struct GroupSpec {
  std::string name;
  Scenario scenario = Scenario::kReadInvoice;
  double rate_per_s = 0;  // 0: closed loop (each connection sends again once answered)
  int connections = 1;
  int lines = 1;  // events per post
  int64_t requests_max = 1000;
};

struct GroupStats {
  std::map<int, int64_t> statuses;            // HTTP status -> answers
  std::map<std::string, int64_t> errors;      // transport errors (no answer) by message
  int64_t unanswered = 0;                     // scheduled or sent, not answered by the end
  int64_t events_posted = 0;                  // lines in posts answered 200
  int64_t accepted = 0, duplicates = 0, rejected = 0;  // summed from the answers
  std::string first_refusal;                  // the first non-200 answer or rejection, for the reader
  std::vector<uint32_t> latencies_us;         // one per 200 answer, from its due time (open loop) or send
  double wall_s = 0;                          // first scheduled send to last answer

  int64_t Answered() const;
  // Every request answered 200 and every posted event accepted.
  bool AllGood() const;
};

// Prints the group as one JSON line on stdout and a line of the human table on stderr;
// appends a markdown table row to `markdown` when it is not empty.
void Report(const GroupSpec& spec, GroupStats& stats, const std::string& markdown);
void PrintTableHeader();

}  // namespace tori::bench

#endif  // TORI_TOOLS_BENCH_SERVE_LOAD_REPORT_H_
