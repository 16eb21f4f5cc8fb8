// SPEC section 8's two-person approval: policies, preparations, the e-invoices' mark.
#include "services/billing/internal/approval.h"

#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "events/base/check.h"
#include "events/base/files.h"
#include "events/base/sha256.h"
#include "fmt/format.h"
#include "services/billing/billing.h"
#include "services/projector/projector.h"

namespace tori::billing_internal {
namespace {
namespace fs = std::filesystem;
constexpr size_t kPersonBytesMax = 128;
std::string_view Trimmed(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}
}  // namespace

absl::StatusOr<std::vector<std::string>> HostsRequiringTwoApprovals(
    StateStore& state, const engine::BillingResult& result) {
  std::set<std::string> hosts;
  for (const auto& invoice : result.invoices) hosts.insert(invoice.issuer_agency_id);
  for (const auto& share : result.host_shares) hosts.insert(share.agency_id);
  const std::string first_day = absl::FormatCivilTime(result.quarter.FirstDay());
  // Per host, the policy with the latest effective_from on or before the first day (the
  // scan is in key order: host, then effective_from).
  std::map<std::string, int32_t> in_force;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      projection::Key(projection::kApprovalPolicy, {}, true),
      [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(auto policy, projection::ReadRecord<events::ApprovalPolicySet>(
                                               state, key, value));
        if (policy.effective_from() <= first_day) {
          in_force[policy.host_agency_id()] = policy.required_approvals();
        }
        return absl::OkStatus();
      }));
  std::vector<std::string> out;
  for (const auto& host : hosts) {
    const auto it = in_force.find(host);
    if (it != in_force.end() && it->second >= 2) out.push_back(host);
  }
  return out;
}

absl::StatusOr<std::optional<events::QuarterPrepared>> LoadPrepared(StateStore& state,
                                                                   engine::Quarter quarter) {
  const std::string key = projection::Key(projection::kPrepared, {engine::QuarterName(quarter)});
  TORI_ASSIGN_OR_RETURN(std::optional<std::string> value, state.GetProjection(key));
  if (!value) return std::nullopt;
  TORI_ASSIGN_OR_RETURN(auto prepared,
                        projection::ReadRecord<events::QuarterPrepared>(state, key, *value));
  return prepared;
}

absl::StatusOr<std::string> CheckedPerson(std::string_view by) {
  const std::string person(Trimmed(by));
  const bool printable = std::all_of(person.begin(), person.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
  if (person.empty() || person.size() > kPersonBytesMax || !printable) {
    return absl::InvalidArgumentError(fmt::format(
        "--by names the person who bills or approves: 1..{} printable bytes, got '{}'",
        kPersonBytesMax, by));
  }
  return person;
}

bool SamePerson(std::string_view a, std::string_view b) {
  a = Trimmed(a);
  b = Trimmed(b);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

std::string PreparedEventId(std::string_view quarter, std::string_view as_of,
                            std::string_view prepared_by) {
  return fmt::format("tori-prepared:{}:{}:{}", quarter, as_of,
                     Sha256Hex(prepared_by).substr(0, 16));
}

events::Event PreparedEvent(const engine::BillingResult& result, const LogPosition& as_of,
                            const std::string& chain_head, absl::CivilDay issue_date,
                            const std::string& prepared_by, absl::Time now) {
  const std::string q = engine::QuarterName(result.quarter);
  events::Event event;
  // Each (as_of, person) prepares once; a later preparation has another as_of or person.
  event.set_event_id(PreparedEventId(q, as_of.ToString(), prepared_by));
  event.set_occurred_at_unix_ns(absl::ToUnixNanos(now));
  event.set_schema_version(kSchemaVersionApproval);
  auto* e = event.mutable_quarter_prepared();
  e->set_quarter(q);
  e->set_as_of(as_of.ToString());
  e->set_prepared_by(prepared_by);
  e->set_issue_date(absl::FormatCivilTime(issue_date));
  e->set_chain_head(chain_head);
  for (const auto& invoice : result.invoices) {
    auto* d = e->add_documents();
    d->set_document_id(invoice.invoice_id);
    d->set_content_sha256(Sha256Hex(InvoiceJson(invoice)));
  }
  for (const auto& claim : result.subsidy_claims) {
    auto* d = e->add_documents();
    d->set_document_id(SubsidyClaimId(claim));
    d->set_content_sha256(Sha256Hex(SubsidyClaimJson(claim)));
  }
  return event;
}

absl::Status CheckPreparedDocuments(const events::QuarterPrepared& prepared,
                                    const engine::BillingResult& result) {
  events::Event now = PreparedEvent(result, LogPosition{}, "", absl::CivilDay(),
                                    prepared.prepared_by(), absl::UnixEpoch());
  const auto& recomputed = now.quarter_prepared().documents();
  for (int i = 0; i < std::max(recomputed.size(), prepared.documents_size()); ++i) {
    const bool same = i < recomputed.size() && i < prepared.documents_size() &&
                      recomputed[i].document_id() == prepared.documents(i).document_id() &&
                      recomputed[i].content_sha256() == prepared.documents(i).content_sha256();
    if (same) continue;
    return absl::DataLossError(fmt::format(
        "the documents prepared for {} at as_of {} do not match a replay of the log up to it "
        "(document {}: {}); the log or the state was changed: run `tori verify`, or prepare "
        "the quarter again with `tori bill --quarter {} --by PERSON`",
        prepared.quarter(), prepared.as_of(), i + 1,
        i < prepared.documents_size() ? prepared.documents(i).document_id() : "none prepared",
        prepared.quarter()));
  }
  return absl::OkStatus();
}

std::string PreparedMark(documents::Language language) {
  // No "--" inside an XML comment.
  return fmt::format(
      "<!-- {}: prepared for two-person approval (SPEC section 8), not an invoice until "
      "another person approves it; do not send. -->\n",
      documents::DraftMark(language));
}

std::string WithPreparedMark(std::string_view xml, documents::Language language) {
  size_t at = 0;
  if (xml.starts_with("<?xml")) {
    const size_t end = xml.find("?>");
    at = end == std::string_view::npos ? 0 : end + 2;
    if (at < xml.size() && xml[at] == '\n') ++at;
  }
  std::string out(xml.substr(0, at));
  out += PreparedMark(language);
  out.append(xml.substr(at));
  return out;
}

absl::StatusOr<std::vector<std::string>> WritePreparedEInvoices(
    const engine::BillingResult& result, const documents::DocumentContext& context,
    const std::string& out_dir) {
  TORI_CHECK(!context.draft);  // the issued rendering, then the mark
  std::vector<std::string> files;
  const fs::path out(out_dir);
  for (const auto& invoice : result.invoices) {
    if (invoice.lines.empty()) continue;
    const auto agency = context.agencies.find(invoice.issuer_agency_id);
    if (agency == context.agencies.end() || !agency->second.iban) continue;
    TORI_ASSIGN_OR_RETURN(documents::EInvoices xml,
                          documents::RenderEInvoices(result, context, invoice.invoice_id));
    const std::pair<std::string, std::string*> both[] = {
        {documents::FinvoiceFileName(invoice.invoice_id), &xml.finvoice_xml},
        {documents::PeppolFileName(invoice.invoice_id), &xml.peppol_xml}};
    for (const auto& [name, text] : both) {
      TORI_ASSIGN_OR_RETURN(const fs::path path,
                            PathInDirectory(out, documents::DraftMarked(name, true)));
      TORI_RETURN_IF_ERROR(WriteFileAtomically(path, WithPreparedMark(*text, context.language)));
      files.push_back(path.string());
    }
  }
  return files;
}

}  // namespace tori::billing_internal

namespace tori {
bool SamePerson(std::string_view a, std::string_view b) { return billing_internal::SamePerson(a, b); }
}  // namespace tori
