// SPEC section 9 in billing (internal/section9.h).
#include "services/billing/internal/section9.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/numeric/int128.h"
#include "absl/time/civil_time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/projector/projector.h"

namespace tori::billing_internal {
namespace {

namespace p = projection;
using engine::Quarter;

std::string AllOf(char kind) { return std::string(1, kind) + '\0'; }

// A referral whose contact counts: (point, quarter of the contact, from, to).
struct CountedReferral {
  std::string service_point_id;
  Quarter quarter;
  std::string from_agency_id, to_agency_id;
};

// Every referral with its contact as the index holds it now (corrections applied);
// referrals of voided contacts are left out.
absl::StatusOr<std::vector<CountedReferral>> CountedReferrals(StateStore& state,
                                                              absl::TimeZone helsinki) {
  TORI_ASSIGN_OR_RETURN(auto referrals,
                        p::ScanRecords<events::ContactReferred>(state, AllOf(p::kReferral)));
  std::vector<CountedReferral> counted;
  for (const auto& referral : referrals) {
    const std::string key = index_keys::Key(index_keys::kContact, referral.contact_id());
    TORI_ASSIGN_OR_RETURN(std::optional<std::string> value, state.Get(key));
    if (!value) {  // the validator made sure it existed: the index lost it
      return state.Damaged("index", key,
                           fmt::format("referral '{}' names this contact, which the index lacks",
                                       referral.referral_id()));
    }
    if (const char* rule = index_keys::EntryProblem(key, *value)) {
      return state.Damaged("index", key, rule);
    }
    events::ContactState contact;
    contact.ParseFromArray(value->data(), static_cast<int>(value->size()));  // checked above
    if (contact.voided()) continue;
    counted.push_back({contact.service_point_id(),
                       QuarterOfInstant(absl::FromUnixNanos(contact.occurred_at_unix_ns()), helsinki),
                       referral.from_agency_id(), referral.to_agency_id()});
  }
  return counted;
}

constexpr int64_t kMinuteNs = 60 * int64_t{1'000'000'000};

int WeekdayIndex(absl::CivilDay day) {  // 0 = Monday
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday: return 0;
    case absl::Weekday::tuesday: return 1;
    case absl::Weekday::wednesday: return 2;
    case absl::Weekday::thursday: return 3;
    case absl::Weekday::friday: return 4;
    case absl::Weekday::saturday: return 5;
    case absl::Weekday::sunday: return 6;
  }
  return 0;
}

// Bookable local clock minutes of `day` by the room's weekday hours.
const events::BookableHours* HoursOn(const events::RoomRegistered& room, absl::CivilDay day) {
  const int weekday = WeekdayIndex(day) + 1;
  for (const auto& hours : room.bookable_hours()) {
    if (hours.weekday() == weekday) return &hours;
  }
  return nullptr;
}

// At most this many hours of one booking go into the heat map (a booking is a stay of
// hours; a months-long one would only paint every cell).
constexpr int kHeatHoursPerBookingMax = 31 * 24;

void AddRoomReports(const events::RoomRegistered& room,
                    const std::vector<events::RoomBooked>& bookings, Quarter quarter,
                    absl::TimeZone helsinki, engine::BillingResult& result) {
  engine::RoomHeat heat{room.service_point_id(), room.room_id(), {}, {}};
  std::map<absl::CivilMonth, std::pair<int64_t, int64_t>> months;  // booked, bookable
  for (absl::CivilMonth m = quarter.FirstMonth(); m < absl::CivilMonth(quarter.EndDay()); ++m) {
    months[m] = {0, 0};
  }
  for (absl::CivilDay day = quarter.FirstDay(); day < quarter.EndDay(); ++day) {
    const events::BookableHours* hours = HoursOn(room, day);
    if (hours == nullptr) continue;
    months[absl::CivilMonth(day)].second += hours->to_minute() - hours->from_minute();
    for (int h = 0; h < 24; ++h) {
      const int from = std::max(hours->from_minute(), h * 60);
      const int to = std::min(hours->to_minute(), (h + 1) * 60);
      if (to > from) heat.bookable_minutes[WeekdayIndex(day) * 24 + h] += to - from;
    }
  }
  for (const auto& booking : bookings) {
    if (booking.room_id() != room.room_id()) continue;
    const absl::Time start = absl::FromUnixNanos(booking.start_unix_ns());
    const absl::CivilMonth month(absl::ToCivilDay(start, helsinki));
    auto found = months.find(month);
    if (found == months.end()) continue;  // starts outside the quarter
    found->second.first += (booking.end_unix_ns() - booking.start_unix_ns()) / kMinuteNs;
    // The heat map: the booking's seconds per local (weekday, hour), floored to minutes.
    std::array<int64_t, 7 * 24> seconds{};
    absl::Time at = start;
    const absl::Time end = absl::FromUnixNanos(booking.end_unix_ns());
    for (int step = 0; at < end && step < kHeatHoursPerBookingMax; ++step) {
      const absl::CivilSecond local = absl::ToCivilSecond(at, helsinki);
      const absl::Time hour_end =
          std::min(end, at + absl::Seconds(3600 - local.minute() * 60 - local.second()));
      const int cell = WeekdayIndex(absl::CivilDay(local)) * 24 + local.hour();
      seconds[cell] += absl::ToInt64Seconds(hour_end - at);
      at = hour_end;
    }
    for (size_t c = 0; c < seconds.size(); ++c) heat.booked_minutes[c] += seconds[c] / 60;
  }
  for (const auto& [month, minutes] : months) {
    result.room_utilisation.push_back({room.service_point_id(), room.room_id(),
                                       absl::FormatCivilTime(month), minutes.first,
                                       minutes.second});
  }
  result.room_heat.push_back(std::move(heat));
}

std::string Euros(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }

}  // namespace

int64_t ForecastCents(int64_t year_to_date_cents, int quarter_number) {
  TORI_CHECK(quarter_number >= 1 && quarter_number <= 4);
  const absl::int128 scaled = absl::int128(year_to_date_cents) * 4;
  const absl::int128 magnitude = scaled < 0 ? -scaled : scaled;
  absl::int128 rounded = (magnitude * 2 + quarter_number) / (2 * quarter_number);
  if (scaled < 0) rounded = -rounded;
  return static_cast<int64_t>(rounded);  // |ytd| < 10^17: x4 stays within int64
}

absl::Status AddSection9Keys(StateStore& state, Quarter quarter, engine::BillingInput& input) {
  const std::string q = QuarterName(quarter);
  for (auto& point : input.service_points) {
    TORI_RETURN_IF_ERROR(state.ForEachInProjection(
        p::Key(p::kMeasures, {point.service_point_id, q}, true),
        [&](std::string_view key, std::string_view value) -> absl::Status {
          // point, quarter, agency, measure
          TORI_ASSIGN_OR_RETURN(const auto parts, p::KeyParts(state, key));
          TORI_ASSIGN_OR_RETURN(const int64_t amount, p::ReadMinutes(state, key, value));
          engine::MeasuredKeys& keys = point.key_values[std::string(parts[2])];
          const std::string_view measure = parts[3];
          if (measure == p::kVideoTime) {
            keys.video_time_s += amount;
          } else if (measure == p::kInterpretationMinutes) {
            keys.interpretation_minutes += amount;
          } else if (measure == p::kStops) {
            keys.stops += amount;
          } else if (measure == p::kStopMinutes) {
            keys.stop_minutes += amount;
          } else if (measure == p::kDeliveries) {
            keys.deliveries += amount;
          } else {
            return state.Damaged("projection", key, "unknown measure");
          }
          return absl::OkStatus();
        }));
  }
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  TORI_ASSIGN_OR_RETURN(auto referrals, CountedReferrals(state, helsinki));
  for (const auto& referral : referrals) {
    if (referral.quarter != quarter) continue;
    for (auto& point : input.service_points) {
      if (point.service_point_id == referral.service_point_id) {
        ++point.key_values[referral.to_agency_id].referrals_received;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status AddSection9Reports(StateStore& state, const IssuedDocuments& issued,
                                engine::BillingResult& result) {
  const Quarter quarter = result.quarter;
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());

  // Referrals between agencies at each point in the quarter.
  TORI_ASSIGN_OR_RETURN(auto referrals, CountedReferrals(state, helsinki));
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> counts;
  for (const auto& r : referrals) {
    if (r.quarter == quarter) ++counts[{r.service_point_id, r.from_agency_id, r.to_agency_id}];
  }
  for (const auto& [key, count] : counts) {
    result.referrals.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  }

  // Room utilisation per registered room and month (rooms in (point, room_id) order).
  TORI_ASSIGN_OR_RETURN(auto rooms, p::ScanRecords<events::RoomRegistered>(state, AllOf(p::kRoom)));
  std::string bookings_point;
  std::vector<events::RoomBooked> bookings;
  for (const auto& room : rooms) {
    if (room.service_point_id() != bookings_point) {
      bookings_point = room.service_point_id();
      TORI_ASSIGN_OR_RETURN(bookings, p::ScanRecords<events::RoomBooked>(
                                          state, p::Key(p::kBookingRecord, {bookings_point}, true)));
    }
    AddRoomReports(room, bookings, quarter, helsinki, result);
  }

  // Budgets of the quarter's year.
  TORI_ASSIGN_OR_RETURN(auto budgets, p::ScanRecords<events::BudgetSet>(state, AllOf(p::kBudget)));
  for (const auto& budget : budgets) {
    if (budget.year() != quarter.year) continue;
    int64_t year_to_date = 0;
    auto add_invoice = [&](const engine::Invoice& invoice) {
      if (invoice.recipient_agency_id != budget.agency_id()) return;
      for (const auto& line : invoice.lines) {
        if (line.service_point_id == budget.service_point_id() && line.pool == budget.pool()) {
          year_to_date += line.amount_cents;
        }
      }
    };
    auto add_host_share = [&](const engine::HostShare& share) {
      if (share.agency_id == budget.agency_id() &&
          share.service_point_id == budget.service_point_id() && share.pool == budget.pool()) {
        year_to_date += share.amount_cents;
      }
    };
    for (const auto& invoice : issued.invoices) {
      if (invoice.quarter.year == quarter.year && invoice.quarter < quarter) add_invoice(invoice);
    }
    for (const auto& run : issued.host_shares) {
      if (run.quarter.year != quarter.year || !(run.quarter < quarter)) continue;
      for (const auto& share : run.shares) add_host_share(share);
    }
    for (const auto& invoice : result.invoices) add_invoice(invoice);
    for (const auto& share : result.host_shares) add_host_share(share);
    engine::BudgetStatus status{budget.budget_id(),       budget.agency_id(),
                                budget.service_point_id(), budget.pool(),
                                budget.year(),             budget.amount_cents(),
                                year_to_date,              ForecastCents(year_to_date, quarter.quarter_of_year)};
    if (status.forecast_cents > status.budget_cents) {
      engine::Warning warning;
      warning.code = engine::WarningCode::kOverBudget;
      warning.message = fmt::format(
          "budget '{}' of '{}' at '{}', pool '{}', {}: the forecast {} EUR (year to date {} EUR "
          "after {}, x 4 / {}) exceeds the budget of {} EUR",
          budget.budget_id(), budget.agency_id(), budget.service_point_id(), budget.pool(),
          budget.year(), Euros(status.forecast_cents), Euros(year_to_date), QuarterName(quarter),
          quarter.quarter_of_year, Euros(status.budget_cents));
      warning.service_point_id = budget.service_point_id();
      warning.pool = budget.pool();
      warning.agency_id = budget.agency_id();
      warning.amount_cents = status.forecast_cents;
      warning.cap_cents = status.budget_cents;
      result.warnings.push_back(std::move(warning));
    }
    result.budgets.push_back(std::move(status));
  }
  return absl::OkStatus();
}

}  // namespace tori::billing_internal
