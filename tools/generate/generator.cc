#include "tools/generate/generator.h"

#include <algorithm>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "tools/generate/random.h"
#include "tools/generate/section9.h"

namespace tori {
namespace {

using Random = SplitMix64;

struct Agency {
  std::string id, name, kind, business_id;
};

// Y-tunnus check digit for a 7-digit base; returns "" when the base has none.
std::string BusinessId(int base) {
  static constexpr int kWeights[7] = {7, 9, 10, 5, 8, 4, 2};
  const std::string digits = fmt::format("{:07d}", base);
  int sum = 0;
  for (int i = 0; i < 7; ++i) sum += (digits[i] - '0') * kWeights[i];
  const int r = sum % 11;
  if (r == 1) return "";
  return fmt::format("{}-{}", digits, r == 0 ? 0 : 11 - r);
}

const char* const kStateAgencies[][3] = {
    {"kela", "Kansaneläkelaitos", "kela"},          {"vero", "Verohallinto", "state"},
    {"poliisi", "Poliisi, lupapalvelut", "state"},  {"dvv", "Digi- ja väestötietovirasto", "state"},
    {"te", "TE-palvelut", "state"},                 {"migri", "Maahanmuuttovirasto", "state"},
    {"hva", "Hyvinvointialue", "wellbeing_county"}, {"kirjasto", "Kirjastopalvelut", "other"},
};
constexpr int kStateAgencyCount = 8;
const char* const kServiceCodes[] = {"NEUVONTA", "ETUUS", "ASIAKIRJA", "AJANVARAUS", "DIGITUKI"};
const char* const kChannels[] = {"in_person", "in_person", "in_person", "video", "phone",
                                 "e_service_support", "mobile"};
const char* const kPools[] = {"premises", "shared_staff", "equipment", "shared_rooms"};

std::string Instant(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status GenerateEvents(const GenerateOptions& options,
                            const std::function<void(std::string_view line)>& write_line) {
  const absl::StatusOr<Quarter> quarter = ParseQuarter(options.quarter);
  if (!quarter.ok()) {
    return absl::InvalidArgumentError(fmt::format("--quarter: {}", std::string(quarter.status().message())));
  }
  if (quarter->year < 2000 || quarter->year > 2199) {  // the codec's instants
    return absl::InvalidArgumentError(
        fmt::format("--quarter {}: events can only occur in 2000..2199", options.quarter));
  }
  if (options.points < 1 || options.points > 10'000) {
    return absl::InvalidArgumentError("--points must be 1..10000");
  }
  TORI_ASSIGN_OR_RETURN(const absl::TimeZone helsinki, HelsinkiTimeZone());
  const int64_t year = quarter->year;
  const absl::CivilMonth first_month = quarter->FirstMonth();
  const absl::CivilDay quarter_start = quarter->FirstDay();
  const absl::Time start = QuarterStart(*quarter, helsinki);
  const absl::Time end = QuarterEnd(*quarter, helsinki);
  const int64_t quarter_s = absl::ToInt64Seconds(end - start);
  const absl::Time setup_at = start - absl::Hours(24 * 10);

  Random rng(options.seed);
  uint64_t event_number = 0;
  std::string line;
  auto begin = [&](std::string_view type, absl::Time at) -> JsonObjectWriter {
    line.clear();
    JsonObjectWriter w(line);
    w.String("event_id", fmt::format("g{}-{}-{}", options.seed, options.quarter, ++event_number))
        .String("type", type)
        .String("occurred_at", Instant(at));
    return w;
  };
  auto emit = [&](JsonObjectWriter& w) {
    w.Close();
    write_line(line);
  };

  // Agencies: the state agencies plus one municipality per 15 points (at most 7).
  std::vector<Agency> agencies;
  int business_base = 1'000'000 + static_cast<int>(options.seed % 1000) * 100;
  auto next_business_id = [&] {
    std::string id;
    while ((id = BusinessId(business_base++)).empty()) {
    }
    return id;
  };
  for (int i = 0; i < kStateAgencyCount; ++i) {
    agencies.push_back({kStateAgencies[i][0], kStateAgencies[i][1], kStateAgencies[i][2],
                        next_business_id()});
  }
  const int municipalities = std::clamp((options.points + 14) / 15, 1, 7);
  for (int m = 0; m < municipalities; ++m) {
    agencies.push_back({fmt::format("kunta-{:02d}", m + 1), fmt::format("Kunta {}", m + 1),
                        "municipality", next_business_id()});
  }

  struct Point {
    std::string id;
    std::string host;
    std::vector<std::string> parties;  // sorted
    std::vector<std::string> others;   // agencies present but not parties
  };
  std::vector<Point> points;
  for (int p = 0; p < options.points; ++p) {
    Point point{fmt::format("piste-{:03d}", p + 1), agencies[kStateAgencyCount + p % municipalities].id, {}, {}};
    point.parties.push_back(point.host);
    for (int i = 0; i < kStateAgencyCount; ++i) {
      (i < 4 || rng.Percent(5000) ? point.parties : point.others).push_back(agencies[i].id);
    }
    std::sort(point.parties.begin(), point.parties.end());
    points.push_back(std::move(point));
  }

  if (options.reference_data) {
    for (const Agency& a : agencies) {
      auto w = begin("agency_registered", setup_at);
      w.String("agency_id", a.id).String("name", a.name).String("kind", a.kind)
          .String("business_id", a.business_id);
      emit(w);
    }
    for (const Point& point : points) {
      const int64_t total_centi_m2 = (1500 + static_cast<int64_t>(rng.Below(5000))) * 100;
      {
        auto w = begin("service_point_opened", setup_at);
        w.String("service_point_id", point.id).String("name", "Palvelupiste " + point.id)
            .String("municipality", point.host).String("host_agency_id", point.host)
            .String("total_area_m2", FormatDecimal(total_centi_m2, kAreaScale));
        emit(w);
      }
      std::string allocations = "[";
      int64_t used = 0;
      for (size_t i = 0; i < point.parties.size(); ++i) {
        const int64_t area = total_centi_m2 / 12 + static_cast<int64_t>(rng.Below(5000));
        used += area;
        if (i > 0) allocations += ",";
        JsonObjectWriter a(allocations);
        a.String("agency_id", point.parties[i]).String("area_m2", FormatDecimal(area, kAreaScale));
        a.Close();
      }
      allocations += "]";
      {
        auto w = begin("space_allocated", setup_at);
        w.String("service_point_id", point.id).String("effective_from", absl::FormatCivilTime(quarter_start))
            .Raw("allocations", allocations)
            .String("shared_area_m2", FormatDecimal(std::max<int64_t>(0, (total_centi_m2 - used) / 2), kAreaScale));
        emit(w);
      }
      std::string parties = "[";
      for (size_t i = 0; i < point.parties.size(); ++i) {
        if (i > 0) parties += ",";
        AppendJsonString(parties, point.parties[i]);
      }
      parties += "]";
      auto w = begin("agreement_signed", setup_at);
      w.String("agreement_id", "sopimus-" + point.id).Int("version", 1)
          .String("service_point_id", point.id)
          .String("effective_from", absl::FormatCivilTime(absl::CivilDay(absl::CivilYear(year))))
          .Raw("parties", parties)
          .Raw("pools",
               R"({"premises":{"tranches":[{"weight_pct":"80","key":"dedicated_area"},{"weight_pct":"20","key":"contacts"}]},)"
               R"("shared_staff":{"tranches":[{"weight_pct":"100","key":"advisor_time"}],"fallback_key":"contacts"},)"
               R"("equipment":{"tranches":[{"weight_pct":"50","key":"equal"},{"weight_pct":"50","key":"weighted_contacts"}]},)"
               R"("shared_rooms":{"tranches":[{"weight_pct":"100","key":"booked_minutes"}],"fallback_key":"equal"}})")
          .Raw("service_weights", R"({"ETUUS":"1.5","ASIAKIRJA":"1.2","DIGITUKI":"0.8"})")
          .Raw("subsidies",
               fmt::format(R"([{{"program_id":"vm-yhteispalvelu","claimant_agency_id":"{}","rate_pct":"50","basis":"claimant_share","pools":["premises","shared_staff"],"annual_cap":"150000.00"}}])",
                           point.host));
      emit(w);
    }
  }

  // Costs: every pool, every month of the quarter.
  for (const Point& point : points) {
    for (int m = 0; m < 3; ++m) {
      const absl::CivilMonth month = first_month + m;
      for (const char* pool : kPools) {
        const int64_t amount = 100'000 + static_cast<int64_t>(rng.Below(5'000'000));
        auto w = begin("cost_posted", absl::FromCivil(absl::CivilDay(month + 1) - 3, helsinki));
        w.String("cost_id", fmt::format("{}-{}-{}-{}", point.id, pool, absl::FormatCivilTime(month), options.seed))
            .String("service_point_id", point.id).String("pool", pool)
            .String("period", absl::FormatCivilTime(month))
            .String("amount", FormatDecimal(amount, kMoneyScale))
            .String("description", fmt::format("{} {}", pool, absl::FormatCivilTime(month)));
        emit(w);
      }
    }
  }

  // Contacts, with corrections and voids of earlier contacts of the same run.
  std::vector<std::string> contact_agency(1);
  for (uint64_t c = 0; c < options.contacts; ++c) {
    const Point& point = points[rng.Below(points.size())];
    const std::string& agency = !point.others.empty() && rng.Percent(200)
                                    ? point.others[rng.Below(point.others.size())]
                                    : point.parties[rng.Below(point.parties.size())];
    const absl::Time at = start + absl::Seconds(static_cast<int64_t>(rng.Below(static_cast<uint64_t>(quarter_s))));
    const std::string contact_id = fmt::format("{}-{}-c{}", options.seed, options.quarter, c);
    {
      auto w = begin("contact_recorded", at);
      w.String("contact_id", contact_id).String("service_point_id", point.id).String("agency_id", agency)
          .String("service_code", kServiceCodes[rng.Below(5)])
          .String("channel", kChannels[rng.Below(7)])
          .String("handled_by", rng.Percent(7000) ? "shared_advisor" : "agency_staff")
          .Int("duration_s", 60 + static_cast<int64_t>(rng.Below(1800)));
      emit(w);
    }
    if (c > 0 && c % 100 == 50) {  // ~1 %: a correction of an earlier contact
      const uint64_t target = c - 1 - rng.Below(std::min<uint64_t>(c, 40));
      if (target % 200 != 7) {  // never correct a contact that gets voided below
        auto w = begin("contact_corrected", at + absl::Minutes(5));
        w.String("contact_id", fmt::format("{}-{}-c{}", options.seed, options.quarter, target))
            .Raw("changes", fmt::format(R"({{"duration_s":{}}})", 60 + rng.Below(900)))
            .String("reason", "kesto korjattu");
        emit(w);
      }
    }
    if (c % 200 == 7) {  // 0.5 %: voided
      auto w = begin("contact_voided", at + absl::Minutes(1));
      w.String("contact_id", contact_id).String("reason", "kirjattu vahingossa");
      emit(w);
    }
  }

  // Room bookings: a few per point per quarter.
  for (const Point& point : points) {
    for (int b = 0; b < 6; ++b) {
      const absl::Time booked = start + absl::Hours(24 * static_cast<int64_t>(rng.Below(85)) + 8);
      auto w = begin("room_booked", booked - absl::Hours(48));
      w.String("booking_id", fmt::format("{}-{}-b{}-{}", point.id, options.quarter, b, options.seed))
          .String("service_point_id", point.id).String("room_id", "sali-1")
          .String("agency_id", point.parties[rng.Below(point.parties.size())])
          .String("start", Instant(booked))
          .String("end", Instant(booked + absl::Minutes(30 * static_cast<int64_t>(1 + rng.Below(6)))));
      emit(w);
    }
  }
  GenerateSection9(options, *quarter, points, agencies[kStateAgencyCount].id, begin, emit);
  return absl::OkStatus();
}

}  // namespace tori
