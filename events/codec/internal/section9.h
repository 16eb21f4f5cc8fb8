// Private to events/codec: the event types of SPEC section 9 (mobile routes,
// interpretation, referrals, registered rooms, budgets) and service_point_opened's
// `kind`, read from and written to their JSON form. Kept apart from parse.cc and
// write.cc so that the types of section 9 are one file.
#ifndef TORI_EVENTS_CODEC_INTERNAL_SECTION9_H_
#define TORI_EVENTS_CODEC_INTERNAL_SECTION9_H_

#include <optional>
#include <string_view>

#include "events/base/json_text.h"
#include "events/codec/internal/reader.h"
#include "tori/schema/v1/events.pb.h"

namespace tori::codec_internal {

inline constexpr int64_t kSection9MinutesMax = 1440;       // a day
inline constexpr int64_t kSection9DeliveriesMax = 100'000;  // per agency and stop

// Reads a section 9 event of `type` into `event` (its envelope is set); nullopt when
// `type` is not one of them, else whether it was read (false: `r` holds the rejection).
std::optional<bool> ReadSection9Event(Reader& r, std::string_view type, dom::object o,
                                      events::Event& event);

// service_point_opened's optional `kind`: office (default) or mobile.
bool ReadServicePointKind(Reader& r, dom::object o, events::ServicePointOpened* e);

// Writes the fields of a section 9 event after its envelope; false when `event` is
// not one of them.
bool WriteSection9Event(JsonObjectWriter& w, const events::Event& event);

// "mon".."sun" for weekday 1..7.
std::string_view WeekdayName(int weekday);

}  // namespace tori::codec_internal

#endif  // TORI_EVENTS_CODEC_INTERNAL_SECTION9_H_
