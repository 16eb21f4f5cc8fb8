// The scenario behind `tori demo`: one quarter, 2026Q1, at the two service squares
// (palvelutori) of the City of Espoo, modelled on DOMAIN.md and the seeds.
//
// Host: Espoon kaupunki (`espoo`). Eight agencies in all, Y-tunnus values computed
// with valid check digits (synthetic, not the agencies' real ones).
//
//  - Iso Omena (`iso-omena`, Iso Omenan palvelutori, 6500 m2): ten units under one
//    roof (city services, library and youth services of Espoo; Kela; Verohallinto;
//    the Espoo employment area; police permits; DVV; Länsi-Uusimaa wellbeing county;
//    Migri). Agreement `iso-omena-yhteispalvelu` v1, all eight agencies parties.
//    Pools: premises (70 % dedicated_area, 30 % contacts), shared_staff (80 %
//    advisor_time, 20 % weighted_contacts, fallback contacts), equipment (40 % equal,
//    60 % weighted_contacts). Subsidy vm-yhteispalvelu: Espoo claims 50 % of its own
//    share of premises and shared_staff (annual cap 600000.00). The space is
//    reallocated from 2026-03-01 (40 m2 from employment services to DVV).
//  - Kalajärvi (`kalajarvi`, Kalajärven palvelutori, 2900 m2 with 350 m2 of halls and
//    teaching rooms): agreement `kalajarvi-palvelutori` in two versions with the same
//    effective_from 2025-12-01, so version 2 wins: it adds the employment services as
//    a party, premises (85 % dedicated_area, 15 % contacts) and shared_rooms (70 %
//    booked_minutes, 30 % fixed_shares). Subsidy vm-yhteispalvelu on the pool_total
//    of shared_rooms at 50 %, capped at 12000.00 a year (Q1 hits the cap).
//    Verohallinto is no party here: its pop-up tax advice days (Tuesdays in
//    February) make a few dozen contacts that billing excludes with a warning.
//
// Costs are monthly ledger postings Jan–Mar 2026 (rent, cleaning, energy, security,
// advisor salaries, training, video equipment, queue system, hall upkeep), including
// one credit note (negative amount) and one pool not in any agreement
// (`mobile_service` at Kalajärvi: borne by the host). About 40,000 contacts fall on
// the 62 opening days in Helsinki business hours, with about 1 % corrections (agency
// or duration), 0.5 % voids (disjoint from the corrected ones) and a few hundred room
// bookings of Kalajärvi's halls.
//
// The service bus (`espoon-palvelubussi`, kind mobile, SPEC section 9): Espoo, Kela,
// the wellbeing county and the post (Posti Oy, `posti`: the partner that is a company,
// kind company with VAT, SPEC section 8) share it by stops, stop minutes and
// deliveries; the post stops on Thursdays with parcels, drawn from a generator of its
// own so the other agencies' data do not depend on it.
//
// Determinism: the reference data and the costs are fixed; the seed drives the
// contacts, corrections, voids and bookings through a fixed splitmix64 generator
// and integer arithmetic only. Instants carry Helsinki's offset from the calendar's
// zone (events/base/calendar.h: +02:00, +03:00 from 2026-03-29); every machine with
// tzdata, which tori requires, writes the same bytes (calendar_test pins the EU rule
// against it), and one without gets the calendar's error naming the package.
//
// Thread safety: a pure function of its seed.
#ifndef TORI_TOOLS_GENERATE_DEMO_SCENARIO_H_
#define TORI_TOOLS_GENERATE_DEMO_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace tori {

// Calls `write_line` with each event line of the demo (SPEC section 2, no newline) in
// file order: reference data first (agencies, points, space, agreements; November
// and December 2025), then the quarter's events in time order, so every reference is
// known before it is used. Event ids are "demo-NNNNNN" in file order. The same seed
// always gives the same bytes.
absl::Status GenerateDemoEvents(uint64_t seed,
                                const std::function<void(std::string_view line)>& write_line);

}  // namespace tori

#endif  // TORI_TOOLS_GENERATE_DEMO_SCENARIO_H_
