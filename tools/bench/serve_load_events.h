// The contact_recorded lines that tori-serve-load posts (SPEC section 2): copies of the
// demo's own contacts (its service points, agencies, service codes, channels, durations
// and times inside its quarter) under new, unique event and contact ids, so that every
// line is one the rules of `tori ingest` accept, and a rejection in a load run means
// the server refused a realistic line, not that the generator wrote a bad one.
//
// A line is written as template head + id + middle + id + tail (no JSON encoder in the
// loop), so a 10,000-line body costs about a millisecond of the generator's one thread.
//
// Thread safety: a loaded ContactSource is immutable; AppendLines is const.
#ifndef TORI_TOOLS_BENCH_SERVE_LOAD_EVENTS_H_
#define TORI_TOOLS_BENCH_SERVE_LOAD_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tori::bench {

class ContactSource {
 public:
  // The contact_recorded lines of `path` (the demo's demo-events.jsonl), at most
  // `templates_max` of them, spread over the file. Fails naming the file and line when a
  // contact line lacks a field or when the file holds no contact at all.
  static absl::StatusOr<ContactSource> FromEventsFile(const std::string& path, size_t templates_max);

  // The service points with at least one template.
  std::vector<std::string> Points() const;

  // Appends `count` lines (each ending in '\n') of `point` ("" = any point) to `body`,
  // with event_id = contact_id = `id_prefix` + the decimal of `*next_seq`, which is
  // advanced by `count`. Precondition: `point` is empty or one of Points(); the caller
  // keeps `id_prefix` + seq under 128 characters (SPEC: event_id 1..128).
  void AppendLines(std::string_view point, std::string_view id_prefix, uint64_t* next_seq, size_t count,
                   std::string* body) const;

 private:
  struct Template {
    std::string head;    // {"event_id":"
    std::string middle;  // ","type":"contact_recorded","occurred_at":"...","contact_id":"
    std::string tail;    // ","service_point_id":"...",...}\n
  };
  std::vector<Template> all_;
  std::map<std::string, std::vector<Template>, std::less<>> by_point_;
};

}  // namespace tori::bench

#endif  // TORI_TOOLS_BENCH_SERVE_LOAD_EVENTS_H_
