// POST /v1/quarters/{quarter}/bill and /approve (SPEC section 8): the answers are the
// command line's files byte for byte, and the preparer's own approval is 403.
#include "services/server/quarter_routes.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "events/base/calendar.h"
#include "services/audit/audit.h"
#include "services/billing/billing.h"
#include "services/projector/projector.h"
#include "services/server/api.h"
#include "services/server/locked_read_log.h"
#include "services/server/read_cache.h"

namespace tori::server {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

class QuarterRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("quarter-routes-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.jsonl")
        << R"({"event_id":"policy-1","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01"})"
           "\n";
    // Two data directories from the same events: one for the command line, one for the API.
    for (const char* data : {"cli", "api"}) {
      ASSERT_EQ(Shell(fmt::format("{} ingest --data {}/{} {}/examples/sample.jsonl", TORI_BINARY, dir_.string(), data,
                                TORI_SOURCE_DIR)),
                0);
      ASSERT_EQ(Shell(fmt::format("{} ingest --data {}/{} {}/policy.jsonl", TORI_BINARY, dir_.string(), data,
                                dir_.string())),
                0);
    }
    auto log = EmbeddedLog::Open((dir_ / "api/log").string());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auto state = StateStore::Open((dir_ / "api/state").string());
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = *std::move(state);
    for (const char* name : {"Maija", "Pekka"}) Grant(name, Role::kHost, "espoo");
    Grant("Vantaa", Role::kHost, "vantaa");
    Grant("", Role::kHost, "espoo");
    Grant("Kela", Role::kAgency, "kela");
    Grant("Auditor", Role::kAuditor, "");
    ApiOptions options;
    options.log = log_.get();
    options.state = state_.get();
    options.scratch_dir = (dir_ / "scratch").string();
    options.access = &access_;
    api_ = std::make_unique<Api>(options);
  }
  void TearDown() override {
    api_.reset();
    state_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }

  void Grant(const std::string& name, Role role, const std::string& agency) {
    NewToken token = *MakeToken();
    tokens_[name] = token;
    ASSERT_TRUE(access_.Grant(AccessGrant{token.token_id, Sha256Of(token.token), role, name, agency, "", false}).ok());
  }
  HttpResponse Post(const std::string& target, const std::string& token_name) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.authorization = "Bearer " + tokens_.at(token_name).token;
    return api_->Handle(r);
  }
  HttpResponse Get(const std::string& target, const std::string& token_name) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.authorization = "Bearer " + tokens_.at(token_name).token;
    return api_->Handle(r);
  }
  int Cli(const std::string& args) {
    return Shell(fmt::format("{} {} --data {}/cli", TORI_BINARY, args, dir_.string()));
  }
  static std::string State(const HttpResponse& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "X-Tori-Quarter-State") return value;
    }
    return "";
  }

  fs::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
  InMemoryAccessList access_;
  std::map<std::string, NewToken> tokens_;
  std::unique_ptr<Api> api_;
};

TEST_F(QuarterRoutesTest, BillAndApproveAnswerTheCommandLinesFilesByteForByte) {
  ASSERT_EQ(Cli(fmt::format("bill --quarter 2026Q1 --by Maija --out {}/prepared", dir_.string())), 0);
  ASSERT_EQ(Cli(fmt::format("approve --quarter 2026Q1 --by Pekka --out {}/approved", dir_.string())), 0);

  const HttpResponse prepared = Post("/v1/quarters/2026Q1/bill", "Maija");
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(State(prepared), "prepared");
  EXPECT_EQ(prepared.body, ReadFile(dir_ / "prepared/draft-invoices.json"));

  const HttpResponse own = Post("/v1/quarters/2026Q1/approve", "Maija");
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_NE(own.body.find("OWN_PREPARATION"), std::string::npos) << own.body;
  // A token does not approve under another person's name.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve?by=Pekka", "Maija").status, 403);
  // A host of no point here: 404, as for what does not exist.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Vantaa").status, 404);

  const HttpResponse approved = Post("/v1/quarters/2026Q1/approve?by=pekka", "Pekka");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(State(approved), "issued");
  EXPECT_EQ(approved.body, ReadFile(dir_ / "approved/invoices.json"));
  // Issued: approving again conflicts; billing it answers the issued file.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Pekka").status, 409);
  const HttpResponse rebill = Post("/v1/quarters/2026Q1/bill", "Maija");
  EXPECT_EQ(rebill.body, approved.body);
  EXPECT_FALSE(fs::exists(dir_ / "scratch/bill"));
}

TEST_F(QuarterRoutesTest, ATokenWithoutANameNamesThePersonWithBy) {
  EXPECT_EQ(Post("/v1/quarters/2026Q1/bill", "").status, 400);
  const HttpResponse prepared = Post("/v1/quarters/2026Q1/bill?by=Liisa", "");
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve?by=LIISA", "").status, 403);
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Maija").status, 200);
}

// SPEC 7 "quarters billed and their state (prepared, issued)": a prepared quarter is
// listed to the host whose documents it prepared and to auditors, never to an agency
// (drafts are nothing it receives yet); once approved, to each reader that issues or
// receives one of its invoices (and auditors).
TEST_F(QuarterRoutesTest, TheQuartersListShowsAPreparedQuarterToItsHostAndAuditorsOnly) {
  for (const char* caller : {"Maija", "Vantaa", "Kela", "Auditor"}) {
    EXPECT_EQ(Get("/v1/quarters", caller).body, "{\"quarters\":[]}\n") << caller;
  }
  ASSERT_EQ(Post("/v1/quarters/2026Q1/bill", "Maija").status, 200);
  const HttpResponse host = Get("/v1/quarters", "Pekka");
  ASSERT_EQ(host.status, 200);
  EXPECT_NE(host.body.find("{\"quarter\":\"2026Q1\",\"state\":\"prepared\",\"invoices\":0,\"prepared_by\":\"Maija\","
                           "\"as_of\":\""),
            std::string::npos)
      << host.body;
  EXPECT_EQ(Get("/v1/quarters", "Auditor").body, host.body);
  EXPECT_EQ(Get("/v1/quarters", "Vantaa").body, "{\"quarters\":[]}\n");
  EXPECT_EQ(Get("/v1/quarters", "Kela").body, "{\"quarters\":[]}\n");

  // The portal's quarter list shows it too, with who prepared it (Pekka approves).
  HttpRequest form;
  form.method = "GET";
  form.target = "/portal/login?lang=en";
  HttpResponse login_form = api_->Handle(form);
  std::string nonce;
  for (const auto& [name, value] : login_form.headers) {
    if (name == "Set-Cookie" && value.starts_with("tori_login=")) nonce = value.substr(0, value.find(';'));
  }
  ASSERT_FALSE(nonce.empty());
  HttpRequest login;
  login.method = "POST";
  login.target = "/portal/login";
  login.content_type = "application/x-www-form-urlencoded";
  login.cookie = nonce;
  login.body = fmt::format("login_csrf={}&token={}", nonce.substr(nonce.find('=') + 1), tokens_.at("Pekka").token);
  HttpResponse logged_in = api_->Handle(login);
  ASSERT_EQ(logged_in.status, 303) << logged_in.body;
  HttpRequest home;
  home.method = "GET";
  home.target = "/?lang=en";
  for (const auto& [name, value] : logged_in.headers) {
    if (name == "Set-Cookie" && value.starts_with("tori_session=")) home.cookie = value.substr(0, value.find(';'));
  }
  const HttpResponse page = api_->Handle(home);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("2026Q1</a></td><td>prepared, awaiting approval (Maija)</td>"), std::string::npos)
      << page.body;

  ASSERT_EQ(Post("/v1/quarters/2026Q1/approve", "Pekka").status, 200);
  EXPECT_EQ(Get("/v1/quarters", "Kela").body,
            "{\"quarters\":[{\"quarter\":\"2026Q1\",\"state\":\"issued\",\"invoices\":1}]}\n");
  const std::string issued = Get("/v1/quarters", "Maija").body;
  EXPECT_NE(issued.find("{\"quarter\":\"2026Q1\",\"state\":\"issued\",\"invoices\":"), std::string::npos) << issued;
  EXPECT_EQ(issued.find("prepared"), std::string::npos) << issued;
  EXPECT_EQ(Get("/v1/quarters", "Auditor").body, issued);
  EXPECT_EQ(Get("/v1/quarters", "Vantaa").body, "{\"quarters\":[]}\n");
}

// The explanation and the reports are kept after the first read (read_cache.h), and a
// kept answer is never served for other issued documents than those it was computed
// from: here the invoice's issued record is changed behind the API's back (as anything
// that rewrote an issued record would), and the next read is Explain's answer over the
// state as it is now, not the kept one.
TEST_F(QuarterRoutesTest, AKeptExplanationOrReportIsNeverServedForOtherIssuedDocuments) {
  ASSERT_EQ(Post("/v1/quarters/2026Q1/bill", "Maija").status, 200);
  const std::string explain = "/v1/invoices/2026Q1-espoo-kela/explain";
  // Prepared, not issued: nothing to explain (and nothing kept).
  EXPECT_EQ(Get(explain, "Auditor").status, 404);
  ASSERT_EQ(Post("/v1/quarters/2026Q1/approve", "Pekka").status, 200);

  auto fresh = [&] {
    ExplainRequest request;
    request.invoice_id = "2026Q1-espoo-kela";
    request.json = true;
    request.scratch_dir = (dir_ / "fresh-explain").string();
    auto text = Explain(*log_, *state_, request);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  };
  const HttpResponse first = Get(explain, "Kela");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, fresh());
  const uint64_t misses = api_->read_cache().stats().misses;
  EXPECT_EQ(Get(explain, "Auditor").body, first.body);
  EXPECT_EQ(Get(explain, "Kela").body, first.body);
  EXPECT_EQ(api_->read_cache().stats().misses, misses);  // both from the cache
  EXPECT_GE(api_->read_cache().stats().hits, 2u);
  const HttpResponse report = Get("/v1/quarters/2026Q1/report.html", "Auditor");
  ASSERT_EQ(report.status, 200) << report.body.substr(0, 300);
  EXPECT_EQ(Get("/v1/quarters/2026Q1/report.html", "Auditor").body, report.body);

  // Another agency, and a revoked token, never reach the kept answer.
  Grant("Dvv", Role::kAgency, "dvv");
  EXPECT_EQ(Get(explain, "Dvv").status, 404);
  ASSERT_TRUE(access_.Revoke(tokens_["Kela"].token_id).ok());
  EXPECT_EQ(Get(explain, "Kela").status, 401);

  // The issued record changes: its total is a cent more.
  auto invoices = projection::ScanRecords<events::InvoiceIssued>(
      *state_, projection::Key(projection::kInvoice, {}, false) + '\0');
  ASSERT_TRUE(invoices.ok()) << invoices.status();
  events::Event changed;
  for (const auto& e : *invoices) {
    if (e.invoice_id() == "2026Q1-espoo-kela") *changed.mutable_invoice_issued() = e;
  }
  ASSERT_TRUE(changed.has_invoice_issued());
  changed.mutable_invoice_issued()->set_total_cents(changed.invoice_issued().total_cents() + 1);
  Projector projector(*HelsinkiTimeZone());
  ASSERT_TRUE(projector.Apply(changed, nullptr).ok());
  auto writes = projector.TakeWrites(*state_);
  ASSERT_TRUE(writes.ok()) << writes.status();
  ASSERT_TRUE(state_->Commit({}, *writes, state_->applied()).ok());

  const std::string now = fresh();
  ASSERT_NE(now, first.body);
  EXPECT_EQ(Get(explain, "Auditor").body, now);
  EXPECT_GE(api_->read_cache().stats().stale, 1u);
  // The report is recomputed too (not served from what was kept), and is what
  // IssuedQuarterReports gives over the state as it is now.
  const ReadCache::Stats before = api_->read_cache().stats();
  const HttpResponse again = Get("/v1/quarters/2026Q1/report.html", "Auditor");
  EXPECT_EQ(api_->read_cache().stats().stale, before.stale + 1);
  EXPECT_EQ(api_->read_cache().stats().hits, before.hits);
  auto reports = IssuedQuarterReports(*log_, *state_, *engine::ParseQuarter("2026Q1"), documents::Language::kFi,
                                      (dir_ / "fresh-report").string());
  ASSERT_TRUE(reports.ok()) << reports.status();
  EXPECT_EQ(again.body, reports->html);
}

// `tori serve` (warm_reads) computes the latest quarter's explanations and report
// ahead, once the quarter is issued: the first read is then already a hit.
TEST_F(QuarterRoutesTest, TheWarmerKeepsTheLatestQuartersExplanationsReady) {
  ASSERT_EQ(Post("/v1/quarters/2026Q1/bill", "Maija").status, 200);
  ASSERT_EQ(Post("/v1/quarters/2026Q1/approve", "Pekka").status, 200);
  api_.reset();
  ApiOptions options;
  options.log = log_.get();
  options.state = state_.get();
  options.scratch_dir = (dir_ / "scratch").string();
  options.access = &access_;
  options.warm_reads = true;
  api_ = std::make_unique<Api>(options);
  // Every invoice's explanation, then the report's two files.
  const std::string list = Get("/v1/invoices?quarter=2026Q1", "Auditor").body;
  size_t expected = 2;
  for (size_t at = list.find("\"invoice_id\""); at != std::string::npos; at = list.find("\"invoice_id\"", at + 1)) {
    ++expected;
  }
  ASSERT_GE(expected, 3u) << list;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (api_->read_cache().stats().entries < expected && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(api_->read_cache().stats().entries, expected);
  const uint64_t misses = api_->read_cache().stats().misses;
  const HttpResponse explain = Get("/v1/invoices/2026Q1-espoo-kela/explain", "Kela");
  ASSERT_EQ(explain.status, 200) << explain.body;
  EXPECT_EQ(api_->read_cache().stats().misses, misses);
  api_.reset();  // stops the warmer
}

TEST(ReadCacheTest, KeepsAtMostItsBytesAndServesOnlyTheDigestItWasGiven) {
  ReadCache cache(4000);
  const Sha256Digest a = Sha256Of("a"), b = Sha256Of("b");
  cache.Put("k1", a, std::string(900, 'x'));
  ASSERT_NE(cache.Find("k1", a), nullptr);
  EXPECT_EQ(*cache.Find("k1", a), std::string(900, 'x'));
  EXPECT_EQ(cache.Find("k1", b), nullptr);  // other issued documents: dropped
  EXPECT_EQ(cache.Find("k1", a), nullptr);
  cache.Put("big", a, std::string(1001, 'x'));  // over a quarter of the bound: not kept
  EXPECT_EQ(cache.Find("big", a), nullptr);
  for (int i = 0; i < 10; ++i) {
    cache.Put(fmt::format("k{}", i), a, std::string(900, 'x'));
    ASSERT_NE(cache.Find("k0", a), nullptr) << i;  // k0 used last: kept
  }
  EXPECT_LE(cache.stats().bytes, 4000u);
  EXPECT_EQ(cache.stats().entries, 4u);
  EXPECT_NE(cache.Find("k9", a), nullptr);
  EXPECT_EQ(cache.Find("k5", a), nullptr);  // least recently used: evicted
  EXPECT_GE(cache.stats().evicted, 6u);
}

// The replays of explain and the reports read the log outside the state's mutex through
// a LockedReadLog: every record arrives as written, and between two records the mutex
// is free (the cursor takes it only to fetch the next batch), so the writers and the
// other reads of `tori serve` go on during a replay; appends are refused.
TEST(LockedReadLogTest, ReadsEveryRecordAndLeavesTheMutexFreeBetweenThem) {
  const fs::path dir = fs::path(::testing::TempDir()) / fmt::format("locked-read-log-{}", ::getpid());
  fs::remove_all(dir);
  auto log = EmbeddedLog::Open(dir.string());
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kRecords = 10000;  // more than one batch (kRecordsPerLock)
  std::vector<std::string> payloads;
  for (int i = 0; i < kRecords; ++i) payloads.push_back(fmt::format("record-{}", i));
  std::vector<AppendRecord> records;
  for (const auto& p : payloads) records.push_back({"k", p});
  ASSERT_TRUE((*log)->Append(records).ok());

  std::mutex mutex;
  LockedReadLog locked(**log, mutex);
  EXPECT_EQ(locked.End().next_offsets, std::vector<int64_t>{kRecords});
  EXPECT_EQ(locked.Append(records).status().code(), absl::StatusCode::kFailedPrecondition);
  LogPosition start;
  start.next_offsets = {0};
  auto cursor = locked.Read(start);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  LogRecord record;
  int read = 0;
  while (true) {
    auto more = (*cursor)->Next(record);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ASSERT_EQ(record.offset, read);
    ASSERT_EQ(record.payload, payloads[read]);
    ASSERT_TRUE(mutex.try_lock()) << "the mutex is held between records, at " << read;
    mutex.unlock();
    ++read;
  }
  EXPECT_EQ(read, kRecords);
  cursor->reset();
  log->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tori::server
