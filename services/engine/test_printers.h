// GoogleTest printers for the engine's result types, so a failing comparison shows
// "kela premises/contacts 12/30 = 4000" instead of raw bytes. Tests only.
#ifndef TORI_SERVICES_ENGINE_TEST_PRINTERS_H_
#define TORI_SERVICES_ENGINE_TEST_PRINTERS_H_

#include <optional>
#include <ostream>

#include "services/engine/engine.h"

namespace tori::engine {

inline void PrintTo(const Quarter& quarter, std::ostream* os) { *os << QuarterName(quarter); }
inline void PrintTo(Key key, std::ostream* os) { *os << KeyName(key); }
inline void PrintTo(const Warning& warning, std::ostream* os) {
  *os << WarningCodeName(warning.code) << ": " << warning.message;
}
inline void PrintTo(const PoolAmount& pool, std::ostream* os) {
  *os << "{" << pool.service_point_id << " " << pool.pool << " " << pool.amount_cents << "}";
}
inline void PrintTo(const HostShare& share, std::ostream* os) {
  *os << "{" << share.agency_id << " " << share.service_point_id << " " << share.pool << " "
      << share.amount_cents << "}";
}
inline void PrintTo(const InvoiceLine& line, std::ostream* os) {
  *os << "{" << line.service_point_id << " " << line.pool << " " << KeyName(line.key);
  if (line.fallback_from.has_value()) {
    *os << " (fallback from " << KeyName(*line.fallback_from) << ")";
  }
  *os << " w=" << line.weight_pct_e4 << " " << line.basis_quantity << "/" << line.basis_total
      << " = " << line.amount_cents;
  if (line.adjusts_quarter.has_value()) *os << " adjusts " << QuarterName(*line.adjusts_quarter);
  *os << "}";
}
inline void PrintTo(const Invoice& invoice, std::ostream* os) {
  *os << "{" << invoice.invoice_id << " " << invoice.issuer_agency_id << "->"
      << invoice.recipient_agency_id << " " << QuarterName(invoice.quarter)
      << " total=" << invoice.total_cents << " lines=[";
  for (const InvoiceLine& line : invoice.lines) {
    PrintTo(line, os);
    *os << " ";
  }
  *os << "]}";
}
inline void PrintTo(const SubsidyClaim& claim, std::ostream* os) {
  *os << "{" << claim.claimant_agency_id << " " << claim.program_id << " "
      << claim.service_point_id << " " << QuarterName(claim.quarter)
      << " basis=" << claim.basis_cents << " amount=" << claim.amount_cents;
  if (claim.adjusts_quarter.has_value()) *os << " adjusts " << QuarterName(*claim.adjusts_quarter);
  *os << "}";
}

}  // namespace tori::engine

#endif  // TORI_SERVICES_ENGINE_TEST_PRINTERS_H_
