// Private to events/codec: typed, path-aware reading of simdjson DOM objects that
// records the first rejection. Every string read is searched for personal identity
// codes; every decimal goes through ParseDecimal.
#ifndef TORI_EVENTS_CODEC_INTERNAL_READER_H_
#define TORI_EVENTS_CODEC_INTERNAL_READER_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "events/codec/rejection.h"
#include "simdjson.h"

namespace tori::codec_internal {

namespace dom = simdjson::dom;

inline constexpr size_t kIdBytesMax = 128;
inline constexpr size_t kTextBytesMax = 4096;

// What a string field may hold.
enum class Text {
  kId,    // 1..128 printable ASCII
  // A kId that names a new agency, service point or subsidy program: part of document
  // ids, and so of file names and URLs, it holds no '/' or '\' and starts with no '.'.
  kNamingId,
  kFree,  // 0..4096 bytes of UTF-8 (already validated by simdjson)
  kName,  // 1..4096 bytes
};

class Reader {
 public:
  // Records the first failure only; returns false so callers can `return r.Fail(...)`.
  bool Fail(RejectReason reason, std::string field, std::string message);
  const std::optional<Rejection>& failure() const { return failure_; }
  void Reset() {
    failure_.reset();
    checked_object_.reset();  // a new document reuses the positions
  }

  static std::string Path(std::string_view parent, std::string_view name);
  static std::string Index(std::string_view parent, size_t i);

  // SCHEMA unless every field of `obj` is in `allowed` and none repeats.
  bool CheckFields(dom::object obj, std::string_view path,
                   std::initializer_list<std::string_view> allowed);
  // The element of a field: nullopt (with SCHEMA when required) if absent or null.
  std::optional<dom::element> Field(dom::object obj, std::string_view path,
                                    std::string_view name, bool required);

  bool StringValue(dom::element el, const std::string& path, Text kind, std::string* out);
  bool String(dom::object obj, std::string_view path, std::string_view name, Text kind,
              std::string* out);
  // The same without a copy: `out` views the parsed document.
  bool StringView(dom::object obj, std::string_view path, std::string_view name, Text kind,
                  std::string_view* out);
  // Optional string: `present` says whether it was there.
  bool OptionalString(dom::object obj, std::string_view path, std::string_view name,
                      Text kind, std::string* out, bool* present);
  bool Decimal(dom::object obj, std::string_view path, std::string_view name, int scale,
               bool allow_negative, int64_t* out);
  bool DecimalValue(dom::element el, const std::string& path, int scale, bool allow_negative,
                    int64_t* out);
  bool Integer(dom::object obj, std::string_view path, std::string_view name, int64_t min,
               int64_t max, int64_t* out);
  bool Object(dom::object obj, std::string_view path, std::string_view name, bool required,
              std::optional<dom::object>* out);
  bool Array(dom::object obj, std::string_view path, std::string_view name, bool required,
             std::optional<dom::array>* out);
  // Civil date "YYYY-MM-DD" / month "YYYY-MM", checked to be real.
  bool Date(dom::object obj, std::string_view path, std::string_view name, bool required,
            std::string* out, bool* present);
  bool Month(dom::object obj, std::string_view path, std::string_view name, std::string* out);
  // RFC 3339 instant with offset or Z, as Unix nanoseconds.
  bool Instant(dom::object obj, std::string_view path, std::string_view name, int64_t* out);

  // Checks a string already in hand (an object key, say) against `kind`.
  bool CheckText(std::string_view value, const std::string& path, Text kind);

 private:
  // Field's work: false (with SCHEMA when required) if absent or null.
  bool FindField(dom::object obj, std::string_view path, std::string_view name, bool required,
                 dom::element* out);
  template <typename MakePath>
  bool CheckTextAt(std::string_view value, const MakePath& path, Text kind);

  std::optional<Rejection> failure_;
  // The object CheckFields last accepted, and the field after the last one found in
  // it (see FindField).
  std::optional<dom::object::iterator> checked_object_;
  dom::object::iterator cursor_;
};

}  // namespace tori::codec_internal

#endif  // TORI_EVENTS_CODEC_INTERNAL_READER_H_
