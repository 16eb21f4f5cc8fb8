// libFuzzer target: one event line through the JSON line parser (events/codec).
//
// Besides "no crash, no sanitizer report", it checks what codec.h promises:
// - the line parsed in place (with padding after it, whatever those bytes hold) gives
//   the same outcome as the line copied by the parser;
// - an accepted line's canonical text parses again to the same text (JSON -> event ->
//   JSON is stable after one pass);
// - its binary encoding is protobuf's and decodes back to the same event.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "events/codec/codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace tori {
namespace {

std::string Outcome(const std::optional<Rejection>& rejection) {
  if (!rejection) return "accepted";
  return std::string(RejectReasonName(rejection->reason)) + " " + rejection->field + ": " +
         rejection->message;
}

}  // namespace
}  // namespace tori

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tori;
  static JsonEventParser parser;
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  events::Event event;
  const std::optional<Rejection> copied = parser.Parse(line, event);

  // In place: the bytes after the line are the parser's to read, not to interpret.
  std::string padded(line);
  padded.append(JsonParserPaddingBytes(), '"');
  events::Event in_place_event;
  const std::optional<Rejection> in_place =
      parser.Parse(std::string_view(padded.data(), line.size()), padded.size(), in_place_event);
  FUZZ_CHECK(Outcome(copied) == Outcome(in_place), "in place: " + Outcome(in_place) +
                                                       "\ncopied: " + Outcome(copied));
  if (copied) return 0;
  FUZZ_CHECK(event.SerializeAsString() == in_place_event.SerializeAsString(),
             "the line parsed in place gives another event");

  const std::string text = EventToJson(event);
  events::Event again;
  const std::optional<Rejection> reparsed = parser.Parse(text, again);
  FUZZ_CHECK(!reparsed, "canonical text rejected: " + Outcome(reparsed) + "\n" + text);
  FUZZ_CHECK(EventToJson(again) == text, "canonical text not stable:\n" + text + "\n" +
                                             EventToJson(again));

  std::string encoded;
  AppendEncoded(event, encoded);
  FUZZ_CHECK(encoded == event.SerializeAsString(), "encoding differs from protobuf's\n" + text);
  events::Event decoded;
  FUZZ_CHECK(DecodeEvent(encoded, decoded), "own encoding not decoded\n" + text);
  FUZZ_CHECK(EventToJson(decoded) == text, "decoded encoding differs\n" + text);
  return 0;
}
