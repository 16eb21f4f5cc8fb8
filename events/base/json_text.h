// Writing JSON text: string escaping and a small appender for flat objects.
//
// tori writes JSON in several places (dead-letter records, canonical events,
// invoices.json); all go through these functions so escaping is done one way.
// Invalid UTF-8 in the input becomes U+FFFD (SPEC section 2, dead-letter `raw`).
// Thread-safe: pure functions.
#ifndef TORI_EVENTS_BASE_JSON_TEXT_H_
#define TORI_EVENTS_BASE_JSON_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace tori {

// Appends `text` as a quoted JSON string: escapes quotes, backslashes and control
// characters; replaces each invalid UTF-8 sequence by U+FFFD.
void AppendJsonString(std::string& out, std::string_view text);

// Returns `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

// Appender for one JSON object, fields in call order: {"a":1,"b":"x"}.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  JsonObjectWriter& String(std::string_view key, std::string_view value);
  JsonObjectWriter& Int(std::string_view key, int64_t value);
  // Appends `json` verbatim as the value (already valid JSON text).
  JsonObjectWriter& Raw(std::string_view key, std::string_view json);
  void Close() { out_.push_back('}'); }

 private:
  void Key(std::string_view key);
  std::string& out_;
  bool first_ = true;
};

}  // namespace tori

#endif  // TORI_EVENTS_BASE_JSON_TEXT_H_
