#include "services/server/api.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/merkle/inclusion.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "services/billing/billing.h"
#include "services/projector/projector.h"
#include "services/server/locked_read_log.h"
#include "services/server/quarter_routes.h"

namespace tori::server {
namespace {

namespace p = projection;

HttpResponse Json(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse NotFound() {
  // The same answer whether it does not exist or belongs to another agency.
  return ErrorResponse(404, "NOT_FOUND", "no such invoice among those you may see");
}

// A library error as an answer: what the caller sent (400, 404) or the server (500).
HttpResponse FromStatus(const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) return ErrorResponse(400, "BAD_INPUT", std::string(status.message()));
  if (absl::IsNotFound(status)) return ErrorResponse(404, "NOT_FOUND", std::string(status.message()));
  return ErrorResponse(500, "INTERNAL", std::string(status.message()));
}

// Every route that names or lists invoices asks here (the rule: access.h, SeesParties).
bool SeesInvoice(const AccessGrant& caller, const events::InvoiceIssued& e) {
  return SeesParties(caller, e.issuer_agency_id(), e.recipient_agency_id());
}

absl::StatusOr<std::vector<events::InvoiceIssued>> IssuedInvoices(StateStore& state) {
  std::vector<events::InvoiceIssued> invoices;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      std::string(1, p::kInvoice), [&](std::string_view key, std::string_view value) -> absl::Status {
        TORI_ASSIGN_OR_RETURN(auto e, p::ReadRecord<events::InvoiceIssued>(state, key, value));
        invoices.push_back(std::move(e));
        return absl::OkStatus();
      }));
  return invoices;
}

absl::StatusOr<std::optional<events::InvoiceIssued>> VisibleInvoice(StateStore& state, const AccessGrant& caller,
                                                                   const std::string& invoice_id) {
  TORI_ASSIGN_OR_RETURN(auto invoices, IssuedInvoices(state));
  for (auto& e : invoices) {
    if (e.invoice_id() == invoice_id) {
      if (!SeesInvoice(caller, e)) return std::nullopt;
      return std::optional<events::InvoiceIssued>(std::move(e));
    }
  }
  return std::nullopt;
}

// The ids of the documents a host issues or claims: its invoices and subsidy claims.
absl::StatusOr<std::set<std::string>> DocumentsOf(StateStore& state, const std::string& agency_id) {
  std::set<std::string> ids;
  TORI_ASSIGN_OR_RETURN(auto invoices, IssuedInvoices(state));
  for (const auto& e : invoices) {
    if (e.issuer_agency_id() == agency_id || e.recipient_agency_id() == agency_id) ids.insert(e.invoice_id());
  }
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      std::string(1, p::kClaim), [&](std::string_view key, std::string_view value) -> absl::Status {
        TORI_ASSIGN_OR_RETURN(auto e, p::ReadRecord<events::SubsidyClaimIssued>(state, key, value));
        if (e.claimant_agency_id() == agency_id) ids.insert(e.claim_id());
        return absl::OkStatus();
      }));
  return ids;
}

// The cache's keys (read_cache.h): what the answer depends on besides the issued documents.
std::string ExplainKey(const std::string& invoice_id, int line, bool list_contacts) {
  return fmt::format("explain\n{}\n{}\n{}", invoice_id, line, list_contacts);
}
std::string ReportKey(const std::string& quarter, documents::Language language) {
  return fmt::format("report\n{}\n{}\n", quarter, documents::LanguageCode(language));  // + "xlsx" or "html"
}

// Events in the log after the state's position.
int64_t LagEvents(const LogPosition& applied, const LogPosition& end) {
  int64_t lag = 0;
  for (size_t i = 0; i < end.next_offsets.size(); ++i) {
    lag += end.next_offsets[i] - (i < applied.next_offsets.size() ? applied.next_offsets[i] : 0);
  }
  return lag;
}

void ClearDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

absl::StatusOr<std::set<std::string>> HostsOfPoints(StateStore& state) {
  std::set<std::string> hosts;
  TORI_ASSIGN_OR_RETURN(auto points,
                        p::ScanRecords<events::ServicePointOpened>(state, p::Key(p::kPoint, {}, false) + '\0'));
  for (const auto& point : points) hosts.insert(point.host_agency_id());
  return hosts;
}

Api::Api(ApiOptions options)
    : options_(std::move(options)),
      read_cache_(options_.read_cache_bytes),
      state_mutex_(options_.state_mutex != nullptr ? *options_.state_mutex : own_state_mutex_),
      router_(options_.access, Handlers()) {
  if (options_.warm_reads) warmer_ = std::thread([this] { WarmLoop(); });
  if (options_.access != nullptr) {
    portal_ = std::make_unique<Portal>(
        PortalOptions{.api = &router_, .access = options_.access, .secure_cookies = options_.portal_secure_cookies});
  }
}

std::vector<RouteHandler> Api::Handlers() {
  std::vector<RouteHandler> handlers(std::size(kRouteTable));
  auto set = [&](std::string_view method, std::string_view pattern, RouteHandler handler) {
    for (size_t i = 0; i < std::size(kRouteTable); ++i) {
      if (kRouteTable[i].method == method && kRouteTable[i].pattern == pattern) {
        handlers[i] = std::move(handler);
        return;
      }
    }
    TORI_CHECK(false && "a handler for a route that is not in kRouteTable");
  };
  // Reads of the state under its mutex; a failed read is a 500 naming the problem.
  auto with_state = [this](const std::function<absl::StatusOr<HttpResponse>(StateStore&)>& read) {
    std::lock_guard lock(state_mutex_);
    auto response = read(*options_.state);
    if (!response.ok()) return FromStatus(response.status());
    return *std::move(response);
  };

  set("GET", "/healthz", [](const RouteRequest&) { return Json("{\"status\":\"ok\"}\n"); });
  set("GET", "/readyz", [this](const RouteRequest&) {
    // While a write, a long read or a catch-up holds the state, the lag last measured
    // (by the last readiness check or the follower) answers: readiness never waits.
    std::unique_lock lock(state_mutex_, std::try_to_lock);
    std::string body;
    JsonObjectWriter w(body);
    int64_t lag = metrics_.log_lag_events();
    if (lock.owns_lock()) {
      const LogPosition end = options_.log->End();
      const LogPosition applied = options_.state->applied();
      lag = LagEvents(applied, end);
      metrics_.SetLogLagEvents(lag);
      w.Raw("ready", lag == 0 ? "true" : "false")
          .String("state_position", applied.ToString())
          .String("log_end", end.ToString());
    } else {
      w.Raw("ready", lag == 0 ? "true" : "false");
    }
    w.Int("lag_events", lag).Close();
    return Json(body + "\n", lag == 0 ? 200 : 503);
  });
  set("GET", "/metrics", [this](const RouteRequest&) {
    // The lag as of now when the state is free; a scrape never waits behind a verify.
    if (std::unique_lock lock(state_mutex_, std::try_to_lock); lock.owns_lock()) {
      metrics_.SetLogLagEvents(LagEvents(options_.state->applied(), options_.log->End()));
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.Render();
    return r;
  });

  // SPEC 7 "quarters billed and their state": issued (invoices in the projection) or
  // prepared (a quarter_prepared of section 8, no invoice issued yet). Who sees which
  // (ARCHITECTURE.md, "The service"): an auditor every quarter; a host or an agency an
  // issued quarter only when it issues or receives an invoice of it; a prepared quarter
  // an auditor and the host whose documents it prepared (its drafts are not yet
  // anything an agency receives: the agency sees the quarter once it is approved).
  set("GET", "/v1/quarters", [with_state](const RouteRequest& request) {
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      const AccessGrant& caller = *request.caller;
      TORI_ASSIGN_OR_RETURN(auto invoices, IssuedInvoices(state));
      std::map<std::string, int64_t> visible;  // quarter -> invoices the caller sees
      for (const auto& e : invoices) {
        if (SeesInvoice(caller, e)) ++visible[e.quarter()];  // an auditor sees every invoice
      }
      std::set<std::string> issued_quarters;
      for (const auto& e : invoices) issued_quarters.insert(e.quarter());
      TORI_ASSIGN_OR_RETURN(auto prepared, p::ScanRecords<events::QuarterPrepared>(
                                               state, p::Key(p::kPrepared, {}, false) + '\0'));
      TORI_ASSIGN_OR_RETURN(std::set<std::string> hosts, HostsOfPoints(state));
      std::map<std::string, const events::QuarterPrepared*> prepared_visible;
      for (const auto& q : prepared) {
        if (issued_quarters.contains(q.quarter())) continue;  // approved (or issued) since
        bool sees = caller.role == Role::kAuditor;
        if (caller.role == Role::kHost && hosts.contains(caller.agency_id)) {
          // Its documents: the invoices it issues are named QUARTER-ISSUER-RECIPIENT.
          const std::string own = q.quarter() + "-" + caller.agency_id + "-";
          for (const auto& d : q.documents()) sees |= d.document_id().starts_with(own);
        }
        if (sees) prepared_visible[q.quarter()] = &q;
      }
      std::set<std::string> quarters;
      for (const auto& [q, count] : visible) quarters.insert(q);
      for (const auto& [q, e] : prepared_visible) quarters.insert(q);
      std::string list = "[";
      for (const std::string& quarter : quarters) {
        if (list.size() > 1) list += ",";
        JsonObjectWriter w(list);
        w.String("quarter", quarter);
        if (auto it = prepared_visible.find(quarter); it != prepared_visible.end()) {
          w.String("state", "prepared")
              .Int("invoices", 0)
              .String("prepared_by", it->second->prepared_by())
              .String("as_of", it->second->as_of());
        } else {
          w.String("state", "issued").Int("invoices", visible[quarter]);
        }
        w.Close();
      }
      list += "]";
      std::string body;
      JsonObjectWriter(body).Raw("quarters", list).Close();
      return Json(body + "\n");
    });
  });
  // The quarter's workbook and HTML report as `tori bill` wrote them (?lang= as for the
  // e-invoices). They hold every agency's figures of the quarter: an auditor's, or a
  // host's when every invoice of the quarter is one it issues or receives (else 404).
  auto report = [this, with_state](bool xlsx) {
    return [this, with_state, xlsx](const RouteRequest& request) {
      auto quarter = engine::ParseQuarter(request.Param("quarter"));
      if (!quarter.ok()) {
        return ErrorResponse(400, "BAD_QUARTER", fmt::format("quarter '{}' is not like 2026Q1", request.Param("quarter")));
      }
      documents::Language language = documents::Language::kFi;
      if (auto text = request.Query("lang")) {
        auto parsed = documents::ParseLanguage(*text);
        if (!parsed.ok()) {
          return ErrorResponse(400, "BAD_LANG",
                               fmt::format("lang '{}' is not one of fi, sv, en (the --lang the quarter was billed with)",
                                           *text));
        }
        language = *parsed;
      }
      const std::string key = ReportKey(engine::QuarterName(*quarter), language);
      const std::string file = xlsx ? "xlsx" : "html";
      std::optional<IssuedSnapshot> issued;  // set when the answer needs a replay
      HttpResponse r = with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
        TORI_ASSIGN_OR_RETURN(auto invoices, IssuedInvoices(state));
        bool any = false, all_visible = true;
        for (const auto& e : invoices) {
          if (e.quarter() != engine::QuarterName(*quarter)) continue;
          any = true;
          all_visible &= SeesInvoice(*request.caller, e);
        }
        if (!any || !all_visible) {
          return ErrorResponse(404, "NOT_FOUND", "no such quarter's report among those you may see");
        }
        TORI_ASSIGN_OR_RETURN(const Sha256Digest digest, IssuedDocumentsDigest(state));
        if (auto hit = read_cache_.Find(key + file, digest)) return Json(*hit);
        TORI_ASSIGN_OR_RETURN(issued, SnapshotIssued(state));
        return Json("");
      });
      if (issued) {
        auto body = ReplayedReport(key + file, *quarter, language, *issued);
        r = body.ok() ? Json(**body) : FromStatus(body.status());
      }
      if (r.status == 200) {
        r.content_type = xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                              : "text/html; charset=utf-8";
      }
      return r;
    };
  };
  set("GET", "/v1/quarters/{quarter}/report.xlsx", report(true));
  set("GET", "/v1/quarters/{quarter}/report.html", report(false));
  set("GET", "/v1/invoices", [with_state](const RouteRequest& request) {
    std::optional<engine::Quarter> quarter;
    if (auto text = request.Query("quarter")) {
      auto parsed = engine::ParseQuarter(*text);
      if (!parsed.ok()) {
        return ErrorResponse(400, "BAD_QUARTER", fmt::format("quarter '{}' is not like 2026Q1", *text));
      }
      quarter = *parsed;
    }
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      TORI_ASSIGN_OR_RETURN(auto invoices, IssuedInvoices(state));
      std::map<std::string, std::vector<InvoiceNumbering>> numbers;  // by quarter
      std::string list = "[";
      for (const auto& e : invoices) {
        if (!SeesInvoice(*request.caller, e)) continue;
        if (quarter && e.quarter() != engine::QuarterName(*quarter)) continue;
        if (!numbers.contains(e.quarter())) {
          TORI_ASSIGN_OR_RETURN(engine::Quarter q, engine::ParseQuarter(e.quarter()));
          TORI_ASSIGN_OR_RETURN(numbers[e.quarter()], NumberIssuedInvoices(state, q));
        }
        if (list.size() > 1) list += ",";
        JsonObjectWriter w(list);
        w.String("invoice_id", e.invoice_id()).String("quarter", e.quarter());
        for (const auto& n : numbers[e.quarter()]) {
          if (n.invoice_id == e.invoice_id()) {
            w.String("invoice_number", n.invoice_number).String("reference_number", n.reference_number);
          }
        }
        w.String("issuer_agency_id", e.issuer_agency_id())
            .String("recipient_agency_id", e.recipient_agency_id())
            .Int("total_cents", e.total_cents())
            .String("as_of", e.as_of())
            .String("content_sha256", e.content_sha256())
            .Close();
      }
      list += "]";
      std::string body;
      JsonObjectWriter(body).Raw("invoices", list).Close();
      return Json(body + "\n");
    });
  });
  set("GET", "/v1/invoices/{id}", [with_state](const RouteRequest& request) {
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      TORI_ASSIGN_OR_RETURN(auto e, VisibleInvoice(state, *request.caller, request.Param("id")));
      if (!e) return NotFound();
      TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, IssuedInvoice(*e));
      return Json(InvoiceJson(invoice) + "\n");
    });
  });
  set("GET", "/v1/invoices/{id}/csv", [with_state](const RouteRequest& request) {
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      TORI_ASSIGN_OR_RETURN(auto e, VisibleInvoice(state, *request.caller, request.Param("id")));
      if (!e) return NotFound();
      TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, IssuedInvoice(*e));
      HttpResponse r;
      r.content_type = "text/csv; charset=utf-8";
      r.body = InvoiceCsv(invoice);  // as invoice-<id>.csv of `tori bill` (plain dialect)
      return r;
    });
  });
  // The e-invoices as `tori bill` wrote them: recomputed at the invoice's as_of with the
  // agencies' details of then. The issuing run's language is not in the log: ?lang=
  // names it as `tori bill --lang` did (default fi, as there).
  auto einvoice = [this, with_state](bool finvoice) {
    return [this, with_state, finvoice](const RouteRequest& request) {
      documents::Language language = documents::Language::kFi;
      if (auto text = request.Query("lang")) {
        auto parsed = documents::ParseLanguage(*text);
        if (!parsed.ok()) {
          return ErrorResponse(400, "BAD_LANG",
                               fmt::format("lang '{}' is not one of fi, sv, en (the --lang the quarter was billed with)",
                                           *text));
        }
        language = *parsed;
      }
      std::string key;
      const std::string file = finvoice ? "finvoice" : "peppol";
      std::optional<IssuedSnapshot> issued;  // set when the answer needs a replay
      std::string invoice_id;
      HttpResponse r = with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
        TORI_ASSIGN_OR_RETURN(auto e, VisibleInvoice(state, *request.caller, request.Param("id")));
        if (!e) return NotFound();
        invoice_id = e->invoice_id();
        key = fmt::format("einvoice\n{}\n{}\n", invoice_id, documents::LanguageCode(language));
        TORI_ASSIGN_OR_RETURN(const Sha256Digest digest, IssuedDocumentsDigest(state));
        if (auto hit = read_cache_.Find(key + file, digest)) return Json(*hit);
        TORI_ASSIGN_OR_RETURN(issued, SnapshotIssued(state));
        return Json("");
      });
      if (issued) {
        auto body = Replayed(key + file, *issued, [&](EventLog& log, const std::string& scratch)
                                                      -> absl::StatusOr<std::map<std::string, std::string>> {
          TORI_ASSIGN_OR_RETURN(documents::EInvoices documents,
                                IssuedEInvoices(log, *issued, invoice_id, language, scratch));
          return std::map<std::string, std::string>{{key + "finvoice", std::move(documents.finvoice_xml)},
                                                    {key + "peppol", std::move(documents.peppol_xml)}};
        });
        if (absl::IsFailedPrecondition(body.status())) {
          return ErrorResponse(404, finvoice ? "NO_FINVOICE" : "NO_PEPPOL", std::string(body.status().message()));
        }
        r = body.ok() ? Json(**body) : FromStatus(body.status());
      }
      if (r.status == 200) r.content_type = "application/xml; charset=utf-8";
      return r;
    };
  };
  set("GET", "/v1/invoices/{id}/finvoice", einvoice(true));
  set("GET", "/v1/invoices/{id}/peppol", einvoice(false));
  // What `tori proof --invoice ID` writes, byte for byte, read from the trees and the
  // checkpoints `tori checkpoint` wrote (never written here). A checkpoint must cover the
  // issuing event: a tree behind the log still answers for the leaves it signed.
  set("GET", "/v1/invoices/{id}/proof", [this, with_state](const RouteRequest& request) {
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      TORI_ASSIGN_OR_RETURN(auto e, VisibleInvoice(state, *request.caller, request.Param("id")));
      if (!e) return NotFound();
      auto built = options_.data_dir.empty()
                       ? absl::StatusOr<merkle::BuiltInclusionProof>(absl::NotFoundError("no data directory"))
                       : merkle::BuildInclusionProof(*options_.log, options_.data_dir, e->invoice_id(),
                                                     IssuedDocumentJson);
      if (absl::IsNotFound(built.status())) {
        return ErrorResponse(404, "NO_CHECKPOINT",
                             fmt::format("no proof of {} yet: the host has not signed a checkpoint since this invoice "
                                         "was issued; ask the host to run `tori checkpoint`, then ask again",
                                         e->invoice_id()));
      }
      if (!built.ok()) return built.status();
      return Json(built->proof.ToJson());
    });
  });
  set("GET", "/v1/invoices/{id}/explain", [this, with_state](const RouteRequest& request) {
    std::optional<int> line;
    if (auto text = request.Query("line")) {
      int value = 0;
      if (!absl::SimpleAtoi(*text, &value) || value < 1) {
        return ErrorResponse(400, "BAD_LINE", fmt::format("line '{}' is not a line number (1, 2, ...)", *text));
      }
      line = value;
    }
    ExplainRequest explain;
    explain.line = line;
    explain.list_contacts = request.Query("events") == "true";
    explain.json = true;
    std::string key;
    std::optional<IssuedSnapshot> issued;  // set when the answer needs a replay
    HttpResponse r = with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      TORI_ASSIGN_OR_RETURN(auto e, VisibleInvoice(state, *request.caller, request.Param("id")));
      if (!e) return NotFound();
      explain.invoice_id = e->invoice_id();
      // An explanation is fixed while the issued documents are (read_cache.h): the
      // replay runs once per invoice, line and ?events, not once per read.
      key = ExplainKey(e->invoice_id(), line.value_or(0), explain.list_contacts);
      TORI_ASSIGN_OR_RETURN(const Sha256Digest digest, IssuedDocumentsDigest(state));
      if (auto hit = read_cache_.Find(key, digest)) return Json(*hit);
      TORI_ASSIGN_OR_RETURN(issued, SnapshotIssued(state));
      return Json("");
    });
    if (!issued) return r;
    auto body = ReplayedExplanation(key, explain, *issued);
    return body.ok() ? Json(**body) : FromStatus(body.status());
  });
  set("GET", "/v1/verify", [this, with_state](const RouteRequest& request) {
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      const std::string scratch = options_.scratch_dir + "/verify";
      ClearDirectory(scratch);
      auto report = Verify(*options_.log, scratch, {}, &state);
      ClearDirectory(scratch);
      if (!report.ok()) return report.status();
      // A host sees the verdicts on its own documents only (an auditor: all of them, the
      // command line's answer byte for byte).
      if (request.caller->role == Role::kHost) {
        TORI_ASSIGN_OR_RETURN(std::set<std::string> own, DocumentsOf(state, request.caller->agency_id));
        std::erase_if(report->documents, [&](const VerifiedDocument& d) { return !own.contains(d.document_id); });
      }
      return Json(VerifyJson(*report) + "\n");
    });
  });
  set("POST", "/v1/reconcile", [this, with_state](const RouteRequest& request) {
    const auto agency = request.Query("agency");
    const auto quarter_text = request.Query("quarter");
    if (!agency || agency->empty() || !quarter_text) {
      return ErrorResponse(400, "MISSING_QUERY", "POST /v1/reconcile?agency=A&quarter=Q with the agency's CSV as body");
    }
    auto quarter = engine::ParseQuarter(*quarter_text);
    if (!quarter.ok()) {
      return ErrorResponse(400, "BAD_QUARTER", fmt::format("quarter '{}' is not like 2026Q1", *quarter_text));
    }
    // Hosts and agencies reconcile their own agency's contacts only (a host's points
    // also serve other agencies, whose contacts at other hosts' points it must not see).
    if (request.caller->role != Role::kAuditor && *agency != request.caller->agency_id) {
      return ErrorResponse(404, "NOT_FOUND", "no such agency among those you may reconcile");
    }
    return with_state([&](StateStore& state) -> absl::StatusOr<HttpResponse> {
      // A token a host granted through the API sees only that host's documents
      // (SeesParties); Reconcile covers the agency's contacts at every point of the
      // directory, so such a token reconciles only where the granter hosts every point.
      if (const std::string& granter = request.caller->granted_by_agency_id; !granter.empty()) {
        TORI_ASSIGN_OR_RETURN(std::set<std::string> hosts, HostsOfPoints(state));
        if (hosts.size() > 1 || (hosts.size() == 1 && !hosts.contains(granter))) {
          // The same answer as for another agency (what other hosts exist is not its to know).
          return ErrorResponse(404, "NOT_FOUND", "no such agency among those you may reconcile");
        }
      }
      const std::string dir = options_.scratch_dir + "/reconcile";
      ClearDirectory(dir);
      std::filesystem::create_directories(dir);
      const std::string path = dir + "/body.csv";
      {
        std::ofstream out(path, std::ios::binary);
        out.write(request.http.body.data(), static_cast<std::streamsize>(request.http.body.size()));
        if (!out) return absl::InternalError(fmt::format("cannot write the request body to {}", path));
      }
      auto report = Reconcile(state, *agency, *quarter, path);
      ClearDirectory(dir);
      if (absl::IsNotFound(report.status())) {
        return ErrorResponse(404, "NOT_FOUND", "no such agency among those you may reconcile");
      }
      if (!report.ok()) {
        // Errors name the file's line: the body's, here.
        std::string message(report.status().message());
        if (size_t at = message.find(path); at != std::string::npos) message.replace(at, path.size(), "the body");
        return ErrorResponse(absl::IsInvalidArgument(report.status()) ? 400 : 500, "BAD_INPUT", message);
      }
      return Json(ReconcileJson(*report, *agency, *quarter, std::nullopt) + "\n");
    });
  });
  for (const auto& [name, handler] : options_.more_handlers) {
    const size_t space = name.find(' ');
    set(std::string_view(name).substr(0, space), std::string_view(name).substr(space + 1), handler);
  }
  // SPEC section 8: bill (prepare or issue) and approve, as `tori bill --by` and `tori
  // approve --by` (quarter_routes.h).
  for (const bool approve : {false, true}) {
    set("POST", approve ? "/v1/quarters/{quarter}/approve" : "/v1/quarters/{quarter}/bill",
        [this, approve](const RouteRequest& request) {
          std::lock_guard lock(state_mutex_);
          return BillQuarter(request, *options_.log, *options_.state, options_.scratch_dir + "/bill", approve);
        });
  }
  return handlers;
}

absl::StatusOr<std::shared_ptr<const std::string>> Api::Replayed(const std::string& key, const IssuedSnapshot& issued,
                                                                 const Replay& replay) {
  replay_slots_.acquire();
  absl::Cleanup release = [this] { replay_slots_.release(); };
  // Another request may have computed it while this one waited for a slot.
  if (auto hit = read_cache_.Find(key, issued.digest)) return hit;
  const std::string scratch = fmt::format("{}/replay-{}", options_.scratch_dir, replays_started_++);
  ClearDirectory(scratch);
  LockedReadLog log(*options_.log, state_mutex_);
  auto answers = replay(log, scratch);
  ClearDirectory(scratch);
  if (!answers.ok()) return answers.status();
  std::shared_ptr<const std::string> answer;
  for (auto& [name, bytes] : *answers) {
    if (name == key) answer = std::make_shared<const std::string>(bytes);
    read_cache_.Put(name, issued.digest, std::move(bytes));
  }
  if (answer == nullptr) return absl::InternalError(fmt::format("the replay did not compute '{}'", key));
  return answer;
}

absl::StatusOr<std::shared_ptr<const std::string>> Api::ReplayedExplanation(const std::string& key,
                                                                            const ExplainRequest& explain,
                                                                            const IssuedSnapshot& issued) {
  return Replayed(key, issued, [&](EventLog& log, const std::string& scratch)
                                   -> absl::StatusOr<std::map<std::string, std::string>> {
    ExplainRequest in_scratch = explain;
    in_scratch.scratch_dir = scratch;
    TORI_ASSIGN_OR_RETURN(std::string text, Explain(log, issued, in_scratch));
    return std::map<std::string, std::string>{{key, std::move(text)}};
  });
}

absl::StatusOr<std::shared_ptr<const std::string>> Api::ReplayedReport(const std::string& key, engine::Quarter quarter,
                                                                       documents::Language language,
                                                                       const IssuedSnapshot& issued) {
  // Both files come from one replay: both are kept (read_cache.h says why that is right).
  const std::string base = ReportKey(engine::QuarterName(quarter), language);
  return Replayed(key, issued, [&](EventLog& log, const std::string& scratch)
                                   -> absl::StatusOr<std::map<std::string, std::string>> {
    TORI_ASSIGN_OR_RETURN(QuarterReports reports, IssuedQuarterReports(log, issued, quarter, language, scratch));
    return std::map<std::string, std::string>{{base + "xlsx", std::move(reports.xlsx)},
                                              {base + "html", std::move(reports.html)}};
  });
}

Api::~Api() {
  {
    std::lock_guard lock(warm_mutex_);
    stopping_ = true;
  }
  warm_wakeup_.notify_all();
  if (warmer_.joinable()) warmer_.join();
}

void Api::WarmLoop() {
  std::optional<Sha256Digest> warmed;  // the issued documents last warmed
  while (true) {
    {
      std::unique_lock lock(warm_mutex_);
      if (warm_wakeup_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
    }
    // The latest quarter with issued invoices: what agencies and hosts read now.
    std::optional<IssuedSnapshot> issued;
    std::vector<std::string> ids;
    std::string quarter;
    {
      std::lock_guard lock(state_mutex_);
      auto digest = IssuedDocumentsDigest(*options_.state);
      if (!digest.ok() || *digest == warmed) continue;
      auto snapshot = SnapshotIssued(*options_.state);
      auto invoices = IssuedInvoices(*options_.state);
      if (!snapshot.ok() || !invoices.ok()) continue;
      issued = *std::move(snapshot);
      for (const auto& e : *invoices) quarter = std::max(quarter, e.quarter());
      for (const auto& e : *invoices) {
        if (e.quarter() == quarter) ids.push_back(e.invoice_id());
      }
    }
    // What fails here (e.g. a quarter issued by a tori that did not record its invoice
    // date) fails for the request too, which says why; it is not tried again until the
    // issued documents change.
    for (const std::string& id : ids) {
      {
        std::lock_guard lock(warm_mutex_);
        if (stopping_) return;
      }
      ExplainRequest explain;
      explain.invoice_id = id;
      explain.json = true;
      (void)ReplayedExplanation(ExplainKey(id, 0, false), explain, *issued);
    }
    if (auto q = engine::ParseQuarter(quarter); q.ok()) {
      (void)ReplayedReport(ReportKey(quarter, documents::Language::kFi) + "html", *q, documents::Language::kFi,
                           *issued);
    }
    warmed = issued->digest;
  }
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const absl::Time started = absl::Now();
  Router::Outcome outcome =
      portal_ && Portal::Owns(request.target) ? portal_->Handle(request) : router_.Handle(request);
  const absl::Duration took = absl::Now() - started;
  const std::string route = outcome.route ? RouteName(*outcome.route) : "unmatched";
  metrics_.ObserveRequest(route, outcome.response.status, took);
  if (options_.access_log != nullptr) {
    std::string line;
    JsonObjectWriter w(line);
    w.String("time", absl::FormatTime(absl::RFC3339_full, started, absl::UTCTimeZone()))
        .String("remote", request.remote)
        .String("method", outcome.route ? outcome.route->method : "-")
        .String("route", route)
        .Int("status", outcome.response.status)
        .Int("bytes", static_cast<int64_t>(outcome.response.body.size()))
        .Raw("duration_ms", fmt::format("{:.3f}", absl::ToDoubleMilliseconds(took)));
    if (outcome.grant) {
      w.String("token_id", outcome.grant->token_id).String("role", RoleName(outcome.grant->role));
    }
    w.Close();
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), options_.access_log);
    std::fflush(options_.access_log);
  }
  return std::move(outcome.response);
}

}  // namespace tori::server
