// The `tori` command line (SPEC section 6): flags and help here, the work in the
// *_command.cc files. Exit codes: 0 success, 1 the run failed (message on stderr),
// 2 usage error.
#include <algorithm>
#include <string>

#include "CLI/CLI.hpp"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "services/engine/engine.h"
#include "tools/tori/commands.h"

// jemalloc's settings for tori (read at its start). Commits hand over vectors of
// tens of MB each time; jemalloc gives requests over 8 MiB fresh pages from the OS and
// returns freed pages after 10 s, so every commit would pay page faults again.
// tori's memory is bounded by its batch and commit sizes,
// also in `project --follow`, so freed pages are kept for reuse: RSS stays at the peak.
extern "C" const char* malloc_conf;
const char* malloc_conf = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1";

namespace tori {
namespace {

void AddDataOption(CLI::App& command, LogOptions& log) {
  command.add_option("--data", log.data_dir,
                     "directory of the RocksDB state (DIR/state) and, without --kafka, of the "
                     "embedded event log (DIR/log); only ingest creates one, the commands that "
                     "only read (verify, explain, reconcile, bill --dry-run) write nothing in it")
      ->capture_default_str();
  command.add_option("--kafka", log.kafka_brokers,
                     "put the event log in Kafka: bootstrap brokers host:port[,host:port]; the "
                     "state stays in --data (one tori process per state at a time)");
  command.add_option("--kafka-topic", log.kafka_topic, "the events topic")->capture_default_str();
  command.add_option("--kafka-dead-letter-topic", log.kafka_dead_letter_topic,
                     "where tori ingest --kafka also sends rejected events")
      ->capture_default_str();
  command.add_option("--kafka-partitions", log.kafka_partitions,
                     "partitions when tori creates the events topic")
      ->capture_default_str();
  command.add_option("--kafka-replication-factor", log.kafka_replication_factor,
                     "replication factor when tori creates topics (production: 3)")
      ->capture_default_str();
  command.add_option("--kafka-setting", log.kafka_settings,
                     "librdkafka setting KEY=VALUE passed through, repeatable (TLS, SASL: e.g. "
                     "security.protocol=SASL_SSL); producer./consumer. prefixes limit one to "
                     "that client");
}

int Main(int argc, char** argv) {
  CLI::App app{
      "tori: event-sourced cost sharing and billing for shared public service points.\n"
      "Every customer contact, cost and agreement is an event in an append-only log; tori "
      "splits each point's costs among the agencies by the agreed keys and issues "
      "quarterly invoices that can be replayed and verified from the log.\n"
      "Start with `tori demo`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tori 0.1 (event schema v1)");
  LogOptions data_dir;

  std::string ingest_file;
  CLI::App* ingest = app.add_subcommand(
      "ingest",
      "Validate a JSON Lines file of events (SPEC section 2) and append the accepted ones to "
      "the log; the state follows. Rejected lines go to FILE.rejected.jsonl with line, "
      "reason, field, message and raw text. Prints 'accepted A, duplicates D, rejected R'. "
      "Running the same file again accepts nothing new. Exit 0 when the file was read to its "
      "end (even with rejections), 1 when it could not be.");
  AddDataOption(*ingest, data_dir);
  ingest->add_option("FILE", ingest_file, "events, one JSON object per line")->required();

  std::string quarter_text, out_dir;
  bool dry_run = false;
  CLI::App* bill = app.add_subcommand(
      "bill",
      "Compute a quarter's invoices (one per host and participating agency), the host's own "
      "shares and the state subsidy claims, with adjustment lines for earlier issued "
      "quarters; write the files below into OUT and issue the documents into the log "
      "(invoice_issued / subsidy_claim_issued events). A quarter issued before is written "
      "again unchanged; if its run was interrupted, the documents it did not issue are issued "
      "now, as computed then.\n"
      "Files in OUT:\n"
      "  invoices.json               every invoice with its lines, the host's shares, the "
      "subsidy claims, warnings, as_of (SPEC section 4)\n"
      "  invoice-<invoice_id>.csv    one per invoice: its lines\n"
      "  finvoice-<invoice_id>.xml   one per invoice: the Finvoice 3.0 e-invoice (only when "
      "the issuer's agency_registered has an iban)\n"
      "  peppol-<invoice_id>.xml     beside each Finvoice, the same invoice as Peppol BIS "
      "Billing 3.0 (UBL 2.1; a CreditNote where the total is negative)\n"
      "  invoices-<quarter>.xlsx     workbook: summary, one sheet per invoice, host shares, "
      "subsidy claims\n"
      "  report-<quarter>.html       report for people, self-contained (print it to PDF)\n"
      "File names carry the id with every character but letters, digits, '.', '_' and '-' "
      "percent-encoded (e.g. %2F), so every file stays in OUT. `tori status` lists what has "
      "been issued.");
  AddDataOption(*bill, data_dir);
  bill->add_option("--quarter", quarter_text, "the quarter, e.g. 2026Q1 (Europe/Helsinki calendar)")
      ->required();
  bill->add_option("--out", out_dir, "directory for invoices.json and the CSV files")->required();
  bill->add_flag("--dry-run", dry_run,
                 "compute and write drafts, issue nothing: file names start with draft-, every "
                 "document is marked LUONNOS / UTKAST / DRAFT (by --lang), invoices have no "
                 "invoice or reference number, and no Finvoice or Peppol e-invoice is written");
  bool force = false;
  bill->add_flag("--force", force,
                 "issue even a quarter that has not ended (Helsinki time) or has no costs at any "
                 "point; without it such a run is refused, since issued documents never change "
                 "and the quarter's real figures could only arrive as adjustments");
  std::string bill_by;
  bill->add_option("--by", bill_by,
                   "the person who bills: where two approvals are in force (approval_policy_set) "
                   "the run prepares the quarter (drafts, a quarter_prepared event) for another "
                   "person's `tori approve`");
  std::string as_of_text, language_text = "fi";
  auto add_language = [&](CLI::App& command) {
    command.add_option("--lang", language_text,
                       "language of the Finvoice rows, workbook and report: fi, sv or en")
        ->capture_default_str();
  };
  add_language(*bill);
  std::string csv_dialect_text = "plain";
  bill->add_option("--csv-dialect", csv_dialect_text,
                   "invoice CSV files: plain (',' and a decimal point, for programs) or excel-fi "
                   "(';', decimal comma, byte-order mark, CRLF: opens as columns in Excel in a "
                   "Finnish locale)")
      ->capture_default_str();
  bill->add_option("--as-of", as_of_text,
                   "with --dry-run: the documents as they would have been with only the events "
                   "before this log position (embedded log: a sequence number, e.g. 283; Kafka: "
                   "p0:OFFSET,p1:OFFSET,...), or as the log stood at a date (2026-03-31: the end "
                   "of that day in Helsinki) or an instant (2026-03-31T12:00:00+03:00): each "
                   "partition up to its first event that occurred later");

  std::string approve_quarter, approve_out, approve_by;
  CLI::App* approve = app.add_subcommand(
      "approve",
      "Approve a quarter prepared by `tori bill --by` (SPEC section 8, two approvals): issue "
      "exactly the prepared documents (same as_of and invoice date; the files are the prepared "
      "ones without the draft mark) and record both names (quarter_approved). The preparer's "
      "own approval is refused (exit 1).");
  AddDataOption(*approve, data_dir);
  approve->add_option("--quarter", approve_quarter, "the prepared quarter, e.g. 2026Q1")->required();
  approve->add_option("--by", approve_by, "the approver: not the person who prepared it")->required();
  approve->add_option("--out", approve_out, "directory for the issued files")->default_val("out");
  add_language(*approve);
  approve->add_option("--csv-dialect", csv_dialect_text, "as for bill")->capture_default_str();

  CLI::App* verify = app.add_subcommand(
      "verify",
      "Replay the whole event log into a fresh scratch state in $TMPDIR (nothing under --data "
      "is written; a read-only archive works; the live state is only read) "
      "and recompute every issued invoice and subsidy claim at its as_of position. Prints "
      "OK or DIFFERS (with the first differing field) per document and a summary. Then "
      "checks the live state: the checksums of its files, and that it holds the same "
      "records as a replay of the log up to its position (else it is damaged: `tori "
      "rebuild` makes it anew). Exit 1 when any document differs or the live state is "
      "damaged.");
  AddDataOption(*verify, data_dir);
  bool json = false;
  verify->add_flag("--json", json,
                   "one JSON object: ok, events_replayed, documents_ok, documents_differ, "
                   "documents [{quarter, document_id, as_of, status (OK or DIFFERS), difference}], "
                   "live_state_ok, live_state_problem");

  std::string explain_invoice;
  int explain_line = 0;
  bool explain_events = false;
  CLI::App* explain = app.add_subcommand(
      "explain",
      "How an issued invoice's lines came to be: the pool amount and the cost events behind "
      "it, the split over the tranches, every party's key value and the total, the "
      "largest-remainder steps (floors, remainders, who got the leftover cents), from the "
      "log as it was when the invoice was issued. A subsidy claim: its rule, the pools "
      "behind its basis, the rate and the annual cap.");
  AddDataOption(*explain, data_dir);
  explain->add_option("--invoice", explain_invoice,
                      "the invoice number or reference printed on the invoice (2026100001, "
                      "20261000010), an invoice id (2026Q1-espoo-kela) or a subsidy claim id "
                      "(see `tori status`)")
      ->required();
  explain->add_flag("--json", json,
                    "one JSON object: document (invoice or subsidy_claim), document_id, "
                    "invoice_number, reference_number, quarter, as_of, amount_cents, amount, "
                    "content_sha256, lines [{line, service_point_id, pool, key, weight_pct, "
                    "basis_quantity, basis_total, amount_cents, amount, adjusts_quarter, "
                    "explanation [text lines]}] (claims: explanation)");
  explain->add_option("--line", explain_line, "explain only this line (1-based)");
  explain->add_flag("--events", explain_events, "list the contact ids behind the agency's key value");

  std::string reconcile_agency, reconcile_quarter, reconcile_file, reconcile_out;
  CLI::App* reconcile = app.add_subcommand(
      "reconcile",
      "Compare an agency's own contact records (CSV with a header: contact_id, optionally "
      "service_code and occurred_at; separator , or ; as Excel writes it, UTF-8 with or "
      "without a byte-order mark) with the contacts tori attributes to it in a quarter: "
      "matched, only_in_tori, only_in_agency_file, other_agency, voided, other_quarter, "
      "service_code_differs, occurred_at_differs. occurred_at is RFC 3339 with an offset "
      "(compared as the same instant, to the second) or Helsinki time without one "
      "(2026-01-05 12:00[:00] or 5.1.2026 12.00[.00], compared to the second or minute "
      "given; a date alone compares the day). Prints a report and writes the differences as "
      "CSV; exit 0 when everything matches, 1 otherwise (also for an agency tori does not "
      "know).");
  AddDataOption(*reconcile, data_dir);
  reconcile->add_option("--agency", reconcile_agency, "the agency's id")->required();
  reconcile->add_option("--quarter", reconcile_quarter, "the quarter, e.g. 2026Q1")->required();
  reconcile->add_option("--out", reconcile_out, "CSV of the differences (default: FILE.differences.csv)");
  reconcile->add_option("FILE", reconcile_file, "the agency's records")->required();
  reconcile->add_flag("--json", json,
                      "one JSON object: agency_id, quarter, file, ok, matched, "
                      "differences_by_status {status: count}, differences [{contact_id, status, "
                      "detail}], differences_csv");

  CLI::App* status = app.add_subcommand(
      "status",
      "What the data directory holds: the log's size and end, the state's position (and how "
      "far it lags), every issued quarter with its documents: id, invoice number, parties, "
      "amount, as_of and content hash (SHA-256 of the document in invoices.json). Reads only.");
  AddDataOption(*status, data_dir);
  status->add_flag("--json", json,
                   "one JSON object: log_end, log_records, log_bytes (embedded log), "
                   "state_position, state_lag_events, issued_quarters [{quarter, documents "
                   "[{kind, document_id, invoice_number, reference_number, issuer_agency_id, "
                   "recipient_agency_id | claimant_agency_id, amount_cents, amount, "
                   "adjusts_quarter, as_of, content_sha256}]}]");

  LogFilter log_filter;
  std::string since_text, until_text;
  CLI::App* log = app.add_subcommand(
      "log",
      "Print the events of the log in log order, as canonical JSON Lines on stdout (the form "
      "tori ingest reads), those that match every filter given; the count on stderr.");
  AddDataOption(*log, data_dir);
  log->add_option("--type", log_filter.types,
                  "event type, e.g. invoice_issued; repeatable or comma-separated")
      ->delimiter(',');
  log->add_option("--point", log_filter.service_point_id,
                  "service point id: its events, and the corrections and voids of its contacts");
  log->add_option("--agency", log_filter.agency_id,
                  "agency id: events that name it in any agency field (agency_id, parties, "
                  "issuer, recipient, claimant, ...) and corrections and voids of its contacts");
  log->add_option("--since", since_text,
                  "occurred_at at or after: a date (2026-01-01, from Helsinki midnight) or an "
                  "RFC 3339 instant");
  log->add_option("--until", until_text,
                  "occurred_at before: a date (2026-03-31, up to the end of that day in "
                  "Helsinki) or an RFC 3339 instant");

  bool follow = false;
  CLI::App* project = app.add_subcommand(
      "project",
      "Bring the state (projections, indexes) up to the event log: what ingest does for its "
      "own events, for events others appended (another tori, a Kafka producer). With "
      "--follow, keep it current and print the lag until interrupted. A killed run resumes "
      "from its last commit without counting anything twice. Long runs print their "
      "progress on stderr every 2 s.");
  AddDataOption(*project, data_dir);
  project->add_flag("--follow", follow, "keep following the log (stop with Ctrl-C / SIGTERM)");

  CLI::App* rebuild = app.add_subcommand(
      "rebuild",
      "Recreate the state (projections and indexes) from the event log, printing the "
      "progress on stderr every 2 s.");
  AddDataOption(*rebuild, data_dir);

  GenerateOptions generate_options;
  std::string generate_out;
  CLI::App* generate = app.add_subcommand(
      "generate",
      "Write a deterministic, realistic event file in SPEC format (agencies, points, space, "
      "agreements, monthly costs, contacts with ~1 % corrections and ~0.5 % voids, room "
      "bookings; ~2 % of contacts by agencies outside the agreement). Same flags, same bytes.");
  generate->add_option("--seed", generate_options.seed, "random seed")->capture_default_str();
  generate->add_option("--points", generate_options.points, "service points (1..10000)")
      ->capture_default_str();
  generate->add_option("--contacts", generate_options.contacts, "contacts in the quarter")
      ->capture_default_str();
  generate->add_option("--quarter", generate_options.quarter, "quarter, e.g. 2026Q1")
      ->capture_default_str();
  generate->add_flag("!--no-reference-data", generate_options.reference_data,
                     "leave out agencies, points and agreements (for a second quarter)");
  generate->add_option("--out", generate_out, "output file (default: standard output)");

  std::string demo_dir = "./tori-demo";
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Generate a realistic quarter (2026Q1) of Espoo's Iso Omena and Kalajärvi service "
      "points (ten agencies, agreements, space, costs, tens of thousands of contacts), ingest "
      "it into the embedded log and bill it; print each agency's share per pool, the subsidy "
      "claims and where the files are. Running it again shows the same, issued documents.");
  demo->add_option("--dir", demo_dir, "working directory (events, data, out)")->capture_default_str();
  add_language(*demo);

  ProofCommands proof_commands = AddProofCommands(app, data_dir, AddDataOption);
  ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Serve the HTTP API of SPEC section 7 over the data directory until SIGINT or SIGTERM. Serve is "
      "the directory's one writer, as `tori ingest` is (on Kafka: the topic's writer): the commands "
      "that write (ingest, bill, checkpoint, rebuild, access grant) are refused beside it; those "
      "that only read (verify, explain, reconcile, bill --dry-run, proof, status, log, access "
      "list) run beside it on the log's durable records as of their start. It follows the log: "
      "what others append is applied within a second, and /readyz is 200 once the state has "
      "caught up. Requests "
      "carry `Authorization: Bearer TOKEN`; 401 without a valid token, 403 for a role that may not, "
      "404 for anything of another agency. Routes: GET /healthz, /readyz, /metrics (no token); "
      "GET /v1/quarters, /v1/invoices?quarter=Q, /v1/invoices/{id}, /v1/invoices/{id}/csv, "
      "/v1/invoices/{id}/explain, /v1/invoices/{id}/finvoice and /peppol (the e-invoices `tori bill` "
      "wrote; ?lang=fi|sv|en as its --lang, default fi), /v1/invoices/{id}/proof (what `tori proof "
      "--invoice` writes; 404 until a checkpoint covers the invoice) (host, agency, auditor); "
      "GET /v1/verify, /v1/quarters/{Q}/report.xlsx and /report.html (host, auditor); "
      "GET / and /portal/...: the web portal (log in with the token; fi, sv, en). "
      "POST /v1/reconcile?agency=A&quarter=Q with the CSV as body (host and agency: their own, "
      "auditor). POST /v1/events with a JSON Lines body (host; intake: its own point's contacts and "
      "bookings), the rules of `tori ingest`, answered once durable, at most 32,768 events (413); "
      "POST /v1/access {role, name, agency_id, service_point_id} and DELETE /v1/access/{token_id} "
      "(host; a revoked token is refused at once). POST /v1/checkpoint (host: `tori checkpoint` "
      "with --checkpoint-key; 409 without). POST /v1/quarters/{Q}/bill and /approve (host: `tori bill --by` and `tori approve --by` as the token's name; 403 for the preparer's own approval). "
      "Limits: bodies 16 MiB (413), 10 s for a request's head, 60 s for its body; requests in "
      "flight per class, each class on its own handler threads (beyond its cap: 503 with Retry-After): "
      "probes (GET /healthz, /readyz, /metrics) 16 on 2 threads, writes (POST and DELETE under /v1/ "
      "but reconcile) 64 on 16 threads, reads (the rest) 64 on 8 threads, so that posts waiting for "
      "their group commit never starve reads or probes. One JSON line per request on stderr (or --access-log): "
      "never a token, query or body. Prints 'tori serve: listening on URL' once ready.");
  AddDataOption(*serve, data_dir);
  serve->add_option("--listen", serve_options.listen, "ADDRESS:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--tls-cert", serve_options.tls_cert, "PEM certificate (chain): serve HTTPS (with --tls-key)");
  serve->add_option("--tls-key", serve_options.tls_key, "PEM private key of --tls-cert");
  serve->add_option("--grants", serve_options.grants_file,
                    "access grants, JSON Lines: {token_id, token_sha256 (hex SHA-256 of the token), role "
                    "(host, agency, auditor, intake), name, agency_id, service_point_id, revoked}, in addition "
                    "to the grants of `tori access grant` in the log");
  serve->add_option("--access-log", serve_options.access_log, "append the access log's JSON lines here, not stderr");
  serve->add_option("--checkpoint-key", serve_options.checkpoint_key,
                    "the host's private key (`tori keygen`): POST /v1/checkpoint signs with it, as "
                    "`tori checkpoint --key` would with serve stopped");
  serve->add_option("--checkpoint-origin", serve_options.checkpoint_origin,
                    "with --checkpoint-key: the checkpoints' origin, as `tori checkpoint --origin` "
                    "(default: the key's name)");

  CLI::App* access = app.add_subcommand(
      "access",
      "Bearer tokens of `tori serve` (SPEC section 7). Grants and revocations are events in the log "
      "(access_granted, access_revoked: the token's SHA-256, never the token), taken by the rules of "
      "`tori ingest`; a running `tori serve` applies them as it follows the log.");
  access->require_subcommand(1);
  AccessGrantOptions grant_options;
  CLI::App* access_grant = access->add_subcommand(
      "grant",
      "Grant a new token: prints one JSON line {\"token_id\", \"token\"}. The token (256 random bits "
      "from the OS CSPRNG, 64 hex digits) is shown only this once; keep it secret. Roles: host "
      "(--agency = the host agency), agency (--agency), auditor, intake (--service-point). Rejected, "
      "naming the rule, for an unknown agency or service point.");
  AddDataOption(*access_grant, data_dir);
  access_grant->add_option("--role", grant_options.role, "host, agency, auditor or intake")->required();
  access_grant->add_option("--name", grant_options.name, "who holds it, e.g. \"Kela controllers\"")->required();
  access_grant->add_option("--agency", grant_options.agency_id, "the agency (roles host and agency)");
  access_grant->add_option("--service-point", grant_options.service_point_id, "the service point (role intake)");
  CLI::App* access_list = access->add_subcommand(
      "list", "The grants, one JSON line each: token_id, role, name, agency_id, service_point_id, revoked "
              "(never a token)");
  AddDataOption(*access_list, data_dir);
  std::string revoke_token_id;
  CLI::App* access_revoke = access->add_subcommand(
      "revoke", "Revoke a grant by its token_id: its token is refused by every `tori serve` that has followed "
                "the log past it; "
                "rejected for a token_id never granted or revoked already");
  AddDataOption(*access_revoke, data_dir);
  access_revoke->add_option("--token-id", revoke_token_id, "the grant's token_id (from grant or list)")->required();

  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  if (argc > 1 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    const std::string nearest = NearestCommand(argv[1], names);
    fmt::print(stderr, "tori: `{}` is not a command; {}\n", argv[1],
               nearest.empty() ? "`tori --help` lists them" : fmt::format("did you mean `tori {}`?", nearest));
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  auto language = documents::ParseLanguage(language_text);
  if (!language.ok()) {
    fmt::print(stderr, "tori: --lang '{}' is not one of fi, sv, en\n", language_text);
    return kExitUsage;
  }
  if (ingest->parsed()) return RunIngest(data_dir, ingest_file);
  if (bill->parsed()) {
    auto quarter = engine::ParseQuarter(quarter_text);
    if (!quarter.ok()) {
      fmt::print(stderr, "tori bill: --quarter: {}\n", std::string(quarter.status().message()));
      return kExitUsage;
    }
    BillAsOf as_of;
    if (!as_of_text.empty()) {
      auto parsed = LogPosition::Parse(as_of_text);
      const std::optional<absl::Time> instant = ParseDateOrInstant(as_of_text, /*day_end=*/true);
      if (!parsed.ok() && !instant) {
        fmt::print(stderr,
                   "tori bill: --as-of '{}' is no log position ({}), date (2026-03-31) or "
                   "RFC 3339 instant\n",
                   as_of_text, std::string(parsed.status().message()));
        return kExitUsage;
      }
      if (!dry_run) {
        fmt::print(stderr, "tori bill: --as-of needs --dry-run (nothing is issued from the past)\n");
        return kExitUsage;
      }
      if (parsed.ok()) {
        as_of = *parsed;
      } else {
        as_of = *instant;
      }
    }
    auto csv_dialect = ParseCsvDialect(csv_dialect_text);
    if (!csv_dialect.ok()) {
      fmt::print(stderr, "tori bill: --{}\n", std::string(csv_dialect.status().message()));
      return kExitUsage;
    }
    return RunBill(data_dir, *quarter, out_dir, dry_run, force, as_of, *language, *csv_dialect,
                   bill_by.empty() ? std::nullopt : std::optional<std::string>(bill_by));
  }
  if (approve->parsed()) {
    auto quarter = engine::ParseQuarter(approve_quarter);
    auto csv_dialect = ParseCsvDialect(csv_dialect_text);
    if (!quarter.ok() || !csv_dialect.ok()) {
      fmt::print(stderr, "tori approve: {}\n",
                 std::string((quarter.ok() ? csv_dialect.status() : quarter.status()).message()));
      return kExitUsage;
    }
    return RunApprove(data_dir, *quarter, approve_out, approve_by, *language, *csv_dialect);
  }
  if (rebuild->parsed()) return RunRebuild(data_dir);
  if (project->parsed()) return RunProject(data_dir, follow);
  if (verify->parsed()) return RunVerify(data_dir, json);
  if (explain->parsed()) {
    return RunExplain(data_dir, explain_invoice,
                      explain_line > 0 ? std::optional<int>(explain_line) : std::nullopt, explain_events,
                      json);
  }
  if (status->parsed()) return RunStatus(data_dir, json);
  if (log->parsed()) {
    for (auto [text, bound, day_end] : {std::tuple{&since_text, &log_filter.since, false},
                                        std::tuple{&until_text, &log_filter.until, true}}) {
      if (text->empty()) continue;
      *bound = ParseDateOrInstant(*text, day_end);
      if (!*bound) {
        fmt::print(stderr, "tori log: '{}' is no date (2026-03-31) or RFC 3339 instant\n", *text);
        return kExitUsage;
      }
    }
    return RunLog(data_dir, log_filter);
  }
  if (reconcile->parsed()) {
    auto quarter = engine::ParseQuarter(reconcile_quarter);
    if (!quarter.ok()) {
      fmt::print(stderr, "tori reconcile: --quarter: {}\n", std::string(quarter.status().message()));
      return kExitUsage;
    }
    return RunReconcile(data_dir, reconcile_agency, *quarter, reconcile_file, reconcile_out, json);
  }
  if (serve->parsed()) return RunServe(data_dir, serve_options);
  if (access_grant->parsed()) return RunAccessGrant(data_dir, grant_options);
  if (access_list->parsed()) return RunAccessList(data_dir);
  if (access_revoke->parsed()) return RunAccessRevoke(data_dir, revoke_token_id);
  if (generate->parsed()) return RunGenerate(generate_options, generate_out);
  if (demo->parsed()) return RunDemo(demo_dir, *language);
  if (auto rc = proof_commands.run()) return *rc;
  return kExitUsage;
}

}  // namespace
}  // namespace tori

int main(int argc, char** argv) { return tori::Main(argc, argv); }
