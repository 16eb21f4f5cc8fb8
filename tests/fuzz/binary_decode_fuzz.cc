// libFuzzer target: a log record's bytes through the binary decoder (events/codec).
//
// codec.h promises that DecodeEvent gives what protobuf's ParseFromArray gives,
// refusals included, into an event that held another one before (its buffers are
// reused), and that DecodeContactView reads only what DecodeEvent would read the same.
// Both are checked against protobuf itself; whatever decodes must also print as JSON
// and encode back to bytes that decode to the same event.
#include <cstdint>
#include <string>
#include <string_view>

#include "events/codec/codec.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tori;
  using google::protobuf::util::MessageDifferencer;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  google::protobuf::LogSilencer quiet;  // protobuf logs each invalid UTF-8 string it refuses

  // Kept across inputs, as a replay keeps its Event: the reuse of its buffers is part
  // of what is tested.
  static events::Event reused;
  events::Event expected;
  const bool protobuf_ok = expected.ParseFromArray(data, static_cast<int>(size));
  const bool ok = DecodeEvent(bytes, reused);
  FUZZ_CHECK(ok == protobuf_ok, ok ? "decoded what protobuf refuses" : "refused what protobuf decodes");
  if (!ok) {
    reused.Clear();  // unspecified after a refusal
    return 0;
  }
  FUZZ_CHECK(MessageDifferencer::Equals(reused, expected),
             "decoded other than protobuf:\n" + reused.DebugString() + "\nprotobuf:\n" +
                 expected.DebugString());

  if (const std::optional<ContactRecordedView> view = DecodeContactView(bytes)) {
    events::Event filled;
    FillEvent(*view, filled);
    FUZZ_CHECK(MessageDifferencer::Equals(filled, expected), "contact view differs from protobuf");
  }

  (void)EventToJson(reused);
  std::string encoded;
  AppendEncoded(reused, encoded);
  events::Event again;
  FUZZ_CHECK(again.ParseFromString(encoded), "own encoding refused by protobuf");
  FUZZ_CHECK(MessageDifferencer::Equals(again, expected), "encoding did not round-trip");
  return 0;
}
