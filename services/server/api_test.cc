// The API over a real data directory (`tori demo`'s: one host, espoo, invoicing seven
// agencies): isolation walked from the route table, and answers compared byte for byte
// with the command line's.
#include "services/server/api.h"
#include "services/server/portal.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/ingest/ingest.h"
#include "services/server/write_routes.h"

namespace tori::server {
namespace {

// stdout of a shell command (stderr dropped).
std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  ::pclose(pipe);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The callers of the isolation walk. `agency` is whose ids are "own". kGranted: a kela
// agency token a host granted through POST /v1/access: espoo's ("own": espoo's invoices
// to kela are its own) or a second host's (espoo's invoices to kela are "another's").
enum class Caller { kNone, kRevoked, kHost, kAgency, kAuditor, kIntake, kGranted };
constexpr Caller kCallers[] = {Caller::kNone,    Caller::kRevoked, Caller::kHost,   Caller::kAgency,
                               Caller::kAuditor, Caller::kIntake,  Caller::kGranted};
std::string_view CallerName(Caller c) {
  switch (c) {
    case Caller::kNone: return "none";
    case Caller::kRevoked: return "revoked";
    case Caller::kHost: return "host";
    case Caller::kAgency: return "agency";
    case Caller::kAuditor: return "auditor";
    case Caller::kIntake: return "intake";
    case Caller::kGranted: return "agency granted by a host";
  }
  return "?";
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + fmt::format("/api-test-{}", ::getpid()));
    std::filesystem::remove_all(*dir_);
    ASSERT_EQ(std::system(fmt::format("{} demo --dir {} >/dev/null 2>&1", TORI_BINARY, *dir_).c_str()), 0);
    // The host signs a checkpoint after billing, so every invoice has its proof.
    ASSERT_EQ(std::system(fmt::format("{} keygen --out {}/host --name espoo.fi/tori >/dev/null 2>&1", TORI_BINARY,
                                      *dir_).c_str()),
              0);
    ASSERT_EQ(std::system(fmt::format("{} checkpoint --data {}/data --key {}/host.key >/dev/null 2>&1", TORI_BINARY,
                                      *dir_, *dir_).c_str()),
              0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    auto log = EmbeddedLog::OpenReadOnly(Data() + "/log");
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auto state = StateStore::OpenReadOnly(Data() + "/state");
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = *std::move(state);
    // Hosts: espoo (the demo's host) and vantaa (a host of nothing here); agencies kela
    // and dvv (both receive espoo's invoices); revoked: a kela token taken back.
    Grant("host-espoo", Role::kHost, "espoo");
    Grant("host-vantaa", Role::kHost, "vantaa");
    Grant("agency-kela", Role::kAgency, "kela");
    Grant("agency-dvv", Role::kAgency, "dvv");
    Grant("auditor", Role::kAuditor, "");
    Grant("intake", Role::kIntake, "", "iso-omena");
    Grant("revoked", Role::kAgency, "kela");
    ASSERT_TRUE(access_.Revoke(tokens_["revoked"].token_id).ok());
    ApiOptions options;
    options.log = log_.get();
    options.state = state_.get();
    options.scratch_dir = *dir_ + "/scratch";
    options.data_dir = Data();
    options.access = &access_;
    api_ = std::make_unique<Api>(options);
  }

  static std::string Data() { return *dir_ + "/data"; }

  void Grant(const std::string& name, Role role, const std::string& agency, const std::string& point = "",
             const std::string& granted_by = "") {
    NewToken token = *MakeToken();
    tokens_[name] = token;
    AccessGrant g{token.token_id, Sha256Of(token.token), role, name, agency, point, false, granted_by};
    ASSERT_TRUE(access_.Grant(g).ok());
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token_name,
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token_name.empty()) r.authorization = "Bearer " + tokens_.at(token_name).token;
    r.body = body;
    return api_->Handle(r);
  }

  // A path of the route with the ids of `agency` (and quarter 2026Q1).
  static std::string Target(const RouteSpec& route, const std::string& agency, const std::string& token_id) {
    std::string path(route.pattern);
    auto replace = [&](std::string_view name, const std::string& value) {
      if (size_t at = path.find(name); at != std::string::npos) path.replace(at, name.size(), value);
    };
    replace("{quarter}", "2026Q1");
    replace("{id}", "2026Q1-espoo-" + agency);
    replace("{token_id}", token_id);
    if (route.pattern == "/v1/invoices") path += "?quarter=2026Q1";
    if (route.scope == Scope::kAgencyQuery) path += "?agency=" + agency + "&quarter=2026Q1";
    return path;
  }

  static std::string* dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
  InMemoryAccessList access_;
  std::map<std::string, NewToken> tokens_;
  std::unique_ptr<Api> api_;
};
std::string* ApiTest::dir_ = nullptr;

// Every route x every caller x ids that are the caller's own or another agency's: the
// status follows from the route table alone (a new route is covered without a new test):
// public 200; no or a revoked token 401; a role the route does not list 403; a route
// without a handler 501; a host or agency naming another agency's thing 404; else 200.
//
// The walk runs over a copy of the data directory with the write routes installed (as
// `tori serve` has them), so that writes change nothing the other tests read; the
// {token_id} is a second intake grant at espoo's point iso-omena (espoo's to revoke, not
// vantaa's); POST /v1/access grants kela an agency token (kela is a party at espoo's
// points, at none of vantaa's).
//
// After that walk, a second host, lahti, joins the copy (a point where kela is a party,
// so POST .../bill now answers OTHER_HOSTS), espoo and lahti each grant kela a token
// through POST /v1/access (ARCHITECTURE.md, "Cross-host visibility"), and those two
// walk every route: espoo's sees espoo's invoice to kela, lahti's sees none of espoo's
// invoices (404 wherever an id names one, empty lists), while the machine-granted
// agency-kela token sees espoo's as before; neither reconciles (the directory has two
// hosts' points). The grants' granter survives the log: `tori rebuild` of the copy, a
// fresh access list from its index, and lahti's token is still held to lahti's view.
TEST_F(ApiTest, EveryRouteForEveryRoleAnswersAsTheRouteTableSays) {
  const std::string copy = *dir_ + "/walk-data";
  std::filesystem::remove_all(copy);
  std::filesystem::copy(Data(), copy, std::filesystem::copy_options::recursive);
  auto log = EmbeddedLog::Open(copy + "/log");
  ASSERT_TRUE(log.ok()) << log.status();
  auto state = StateStore::Open(copy + "/state");
  ASSERT_TRUE(state.ok()) << state.status();
  const NewToken desk2 = *MakeToken();
  auto granted = IngestLines(EventToJson(GrantEvent(desk2, "intake", "desk 2", "", "iso-omena", absl::Now())),
                             **log, **state);
  ASSERT_TRUE(granted.ok() && granted->size() == 1 && granted->front().status == LineOutcome::Status::kAccepted);
  std::mutex state_mutex;
  Writer writer({.log = log->get(), .state = state->get(), .state_mutex = &state_mutex, .access = &access_});
  ApiOptions options;
  options.log = log->get();
  options.state = state->get();
  options.scratch_dir = *dir_ + "/walk-scratch";
  options.data_dir = copy;
  options.access = &access_;
  options.more_handlers = writer.Handlers();
  options.state_mutex = &state_mutex;
  api_ = std::make_unique<Api>(options);
  const Router& router = api_->router();
  // The second host joins after the walk of the other callers: with two hosts in the
  // directory POST .../bill and /approve answer OTHER_HOSTS, which the first pass checks
  // as 200 and 409.
  auto add_second_host = [&] {
    // The second host: lahti, at whose point kela is a party from 2026Q3 (after the
    // quarter the walk reads, so 2026Q1's bill does not change).
    auto second_host = IngestLines(
        R"({"event_id":"walk-lahti-1","type":"agency_registered","occurred_at":"2026-06-01T08:00:00+03:00","agency_id":"lahti","name":"Lahden kaupunki","kind":"municipality","business_id":"1234567-1"})"
        "\n"
        R"({"event_id":"walk-lahti-2","type":"service_point_opened","occurred_at":"2026-06-01T09:00:00+03:00","service_point_id":"lahti-tori","name":"Lahden palvelutori","municipality":"Lahti","host_agency_id":"lahti","total_area_m2":"100.00"})"
        "\n"
        R"({"event_id":"walk-lahti-3","type":"agreement_signed","occurred_at":"2026-06-02T09:00:00+03:00","agreement_id":"lahti-tori-1","version":1,"service_point_id":"lahti-tori","effective_from":"2026-07-01","parties":["lahti","kela"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}]}}})"
        "\n",
        **log, **state);
    ASSERT_TRUE(second_host.ok()) << second_host.status();
    for (const LineOutcome& o : *second_host) {
      ASSERT_EQ(o.status, LineOutcome::Status::kAccepted)
          << (o.rejection ? o.rejection->field + ": " + o.rejection->message : "");
    }
    Grant("host-lahti", Role::kHost, "lahti");
    for (const std::string host : {"espoo", "lahti"}) {
      const HttpResponse granted_by_host = Call("POST", "/v1/access", "host-" + host,
                                                R"({"role":"agency","name":"kela by a host","agency_id":"kela"})");
      ASSERT_EQ(granted_by_host.status, 200) << host << ": " << granted_by_host.body;
      auto field = [&](std::string_view name) {
        const std::string key = fmt::format("\"{}\":\"", name);
        const size_t at = granted_by_host.body.find(key) + key.size();
        return granted_by_host.body.substr(at, granted_by_host.body.find('"', at) - at);
      };
      tokens_["granted-" + host] = NewToken{field("token_id"), field("token")};
      auto grant = access_.Find(field("token_id"));
      ASSERT_TRUE(grant.has_value());
      EXPECT_EQ(grant->granted_by_agency_id, host);
      EXPECT_EQ(grant->agency_id, "kela");
    }
    EXPECT_EQ(access_.Find(desk2.token_id).value().granted_by_agency_id, "");  // granted on the machine
  };
  for (const bool second_host_pass : {false, true}) {
    if (second_host_pass) {
      add_second_host();
      if (HasFatalFailure()) return;
    }
    for (size_t i = 0; i < std::size(kRouteTable); ++i) {
      const RouteSpec& route = kRouteTable[i];
      for (Caller caller : kCallers) {
        if ((caller == Caller::kGranted) != second_host_pass) continue;
        for (bool own : {true, false}) {
          // Whose ids: espoo's host owns every espoo invoice; vantaa's owns none; kela
          // owns 2026Q1-espoo-kela, not 2026Q1-espoo-dvv.
          std::string token, target_agency;
          Role role = Role::kAuditor;
          switch (caller) {
            case Caller::kNone: token = ""; break;
            case Caller::kRevoked: token = "revoked"; break;
            case Caller::kHost: token = own ? "host-espoo" : "host-vantaa"; role = Role::kHost; break;
            case Caller::kAgency: token = "agency-kela"; role = Role::kAgency; break;
            case Caller::kAuditor: token = "auditor"; role = Role::kAuditor; break;
            case Caller::kIntake: token = "intake"; role = Role::kIntake; break;
            case Caller::kGranted: token = own ? "granted-espoo" : "granted-lahti"; role = Role::kAgency; break;
          }
          target_agency = own || caller == Caller::kGranted ? "kela" : "dvv";
          if (caller == Caller::kHost && route.scope == Scope::kAgencyQuery) target_agency = own ? "espoo" : "kela";
          const std::string target = Target(route, target_agency, desk2.token_id);
          std::string body = route.scope == Scope::kAgencyQuery ? "contact_id\n" : "";
          if (route.scope == Scope::kGrant) body = R"({"role":"agency","name":"walk","agency_id":"kela"})";

          int expected = 200;
          if (route.public_route) {
            expected = 200;
          } else if (caller == Caller::kNone || caller == Caller::kRevoked) {
            expected = 401;
          } else if (!Has(route.roles, role)) {
            expected = 403;
          } else if (!router.Implements(i)) {
            expected = 501;
          } else if (route.scope != Scope::kNone && (role == Role::kHost || role == Role::kAgency) && !own) {
            expected = 404;
          } else if (caller == Caller::kGranted && route.scope == Scope::kAgencyQuery) {
            expected = 404;  // a host's grant reconciles only where that host hosts every point
          } else if (route.pattern == "/v1/quarters/{quarter}/approve") {
            expected = 409;  // the demo's 2026Q1 is issued (never prepared): nothing to approve
          }
          const HttpResponse response = Call(std::string(route.method), target, token, body);
          EXPECT_EQ(response.status, expected)
              << RouteName(route) << " as " << CallerName(caller) << (own ? " (own ids) " : " (other's ids) ")
              << target << ": " << response.body.substr(0, 300);
          // What is answered with 200 holds nothing of another agency's invoices.
          if (response.status == 200 && (caller == Caller::kAgency || caller == Caller::kHost)) {
            if (caller == Caller::kAgency || !own) {
              EXPECT_EQ(response.body.find("2026Q1-espoo-dvv"), std::string::npos)
                  << RouteName(route) << " as " << CallerName(caller) << " shows dvv's invoice";
            }
          }
          if (response.status == 200 && caller == Caller::kGranted) {
            EXPECT_EQ(response.body.find(own ? "2026Q1-espoo-dvv" : "2026Q1-espoo-"), std::string::npos)
                << RouteName(route) << " as " << CallerName(caller) << (own ? " espoo" : " lahti")
                << " shows an invoice it may not see: " << response.body.substr(0, 300);
          }
        }
      }
    }
  }
  // The lists: lahti's grant sees no quarter and no invoice of espoo's; espoo's and the
  // machine's see espoo's invoice to kela.
  EXPECT_EQ(Call("GET", "/v1/invoices", "granted-lahti").body, "{\"invoices\":[]}\n");
  EXPECT_EQ(Call("GET", "/v1/quarters", "granted-lahti").body, "{\"quarters\":[]}\n");
  for (const std::string token : {"granted-espoo", "agency-kela"}) {
    EXPECT_NE(Call("GET", "/v1/invoices", token).body.find("\"invoice_id\":\"2026Q1-espoo-kela\""), std::string::npos)
        << token;
    EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-kela", token).status, 200) << token;
  }

  // The granter is in the log: `tori log` writes it, and a state rebuilt from the log
  // gives a fresh access list (a restarted serve's) the same view.
  const std::string lahti_token_id = tokens_.at("granted-lahti").token_id;
  api_.reset();
  state->reset();
  log->reset();
  const std::string logged = Output(fmt::format("{} log --data {} --type access_granted", TORI_BINARY, copy));
  EXPECT_NE(logged.find(R"("granted_by_agency_id":"lahti")"), std::string::npos) << logged;
  EXPECT_NE(logged.find(R"("granted_by_agency_id":"espoo")"), std::string::npos) << logged;
  ASSERT_EQ(std::system(fmt::format("{} rebuild --data {} >/dev/null 2>&1", TORI_BINARY, copy).c_str()), 0);
  auto rebuilt_log = EmbeddedLog::OpenReadOnly(copy + "/log");
  ASSERT_TRUE(rebuilt_log.ok()) << rebuilt_log.status();
  auto rebuilt = StateStore::OpenReadOnly(copy + "/state");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  InMemoryAccessList restarted;
  ASSERT_TRUE(RefreshAccessList(**rebuilt, restarted).ok());
  ASSERT_TRUE(restarted.Find(lahti_token_id).has_value());
  EXPECT_EQ(restarted.Find(lahti_token_id)->granted_by_agency_id, "lahti");
  ApiOptions after;
  after.log = rebuilt_log->get();
  after.state = rebuilt->get();
  after.scratch_dir = *dir_ + "/walk-scratch";
  after.data_dir = copy;
  after.access = &restarted;
  Api restarted_api(after);
  for (const auto& [token, status] : {std::pair{"granted-lahti", 404}, std::pair{"granted-espoo", 200}}) {
    HttpRequest r;
    r.method = "GET";
    r.target = "/v1/invoices/2026Q1-espoo-kela";
    r.authorization = "Bearer " + tokens_.at(token).token;
    EXPECT_EQ(restarted_api.Handle(r).status, status) << token;
  }
}

TEST_F(ApiTest, AListShowsAnAgencyOnlyTheInvoicesItReceivesOrIssues) {
  const std::string kela = Call("GET", "/v1/invoices?quarter=2026Q1", "agency-kela").body;
  EXPECT_NE(kela.find("\"invoice_id\":\"2026Q1-espoo-kela\""), std::string::npos) << kela;
  EXPECT_EQ(kela.find("2026Q1-espoo-vero"), std::string::npos) << kela;
  const std::string espoo = Call("GET", "/v1/invoices", "host-espoo").body;
  EXPECT_NE(espoo.find("2026Q1-espoo-vero"), std::string::npos);
  EXPECT_NE(espoo.find("2026Q1-espoo-kela"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/invoices", "host-vantaa").body, "{\"invoices\":[]}\n");
  EXPECT_EQ(Call("GET", "/v1/quarters", "agency-kela").body,
            "{\"quarters\":[{\"quarter\":\"2026Q1\",\"state\":\"issued\",\"invoices\":1}]}\n");
  EXPECT_EQ(Call("GET", "/v1/invoices?quarter=2026", "agency-kela").status, 400);
}

TEST_F(ApiTest, AnInvoiceAndItsCsvAreTheIssuedFilesBytes) {
  const std::string invoices_json = ReadFile(*dir_ + "/out/invoices.json");
  for (std::string id : {"2026Q1-espoo-kela", "2026Q1-espoo-dvv"}) {
    const HttpResponse invoice = Call("GET", "/v1/invoices/" + id, "auditor");
    ASSERT_EQ(invoice.status, 200);
    ASSERT_TRUE(invoice.body.ends_with("}\n"));
    EXPECT_NE(invoices_json.find(invoice.body.substr(0, invoice.body.size() - 1)), std::string::npos) << invoice.body;
    const HttpResponse csv = Call("GET", "/v1/invoices/" + id + "/csv", "auditor");
    EXPECT_EQ(csv.status, 200);
    EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
    EXPECT_EQ(csv.body, ReadFile(*dir_ + "/out/invoice-" + id + ".csv"));
  }
}

TEST_F(ApiTest, FinvoiceAndPeppolAreTheFilesTorisBillWrote) {
  for (std::string id : {"2026Q1-espoo-kela", "2026Q1-espoo-dvv"}) {
    for (std::string format : {"finvoice", "peppol"}) {
      const std::string file = ReadFile(*dir_ + "/out/" + format + "-" + id + ".xml");
      ASSERT_FALSE(file.empty()) << format << " " << id;
      const HttpResponse api = Call("GET", "/v1/invoices/" + id + "/" + format, "auditor");
      EXPECT_EQ(api.status, 200) << api.body;
      EXPECT_EQ(api.content_type, "application/xml; charset=utf-8");
      EXPECT_EQ(api.body, file) << format << " " << id;
      EXPECT_EQ(Call("GET", "/v1/invoices/" + id + "/" + format + "?lang=fi", "host-espoo").body, file);
    }
  }
  // Kela's own, and not dvv's: 404 as for what does not exist.
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-kela/finvoice", "agency-kela").status, 200);
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-dvv/finvoice", "agency-kela").status, 404);
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-dvv/peppol", "agency-kela").status, 404);
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-nobody/peppol", "auditor").status, 404);
  const HttpResponse bad = Call("GET", "/v1/invoices/2026Q1-espoo-kela/finvoice?lang=de", "auditor");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("fi, sv, en"), std::string::npos) << bad.body;
  // Another language than the run's is another document, not the issued one.
  EXPECT_NE(Call("GET", "/v1/invoices/2026Q1-espoo-kela/finvoice?lang=sv", "auditor").body,
            ReadFile(*dir_ + "/out/finvoice-2026Q1-espoo-kela.xml"));
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/scratch/einvoice"));
}

TEST_F(ApiTest, NoFinvoiceOrPeppolWhenTheQuarterWasIssuedWithoutTheIssuersIban) {
  // The demo's events without the host's account: `tori bill` writes no e-invoice.
  const std::string dir = *dir_ + "/no-iban";
  std::filesystem::create_directories(dir);
  std::string events = ReadFile(*dir_ + "/demo-events.jsonl");
  const std::string account = R"(,"iban":"FI2112345600000785","bic":"NDEAFIHH")";
  ASSERT_NE(events.find(account), std::string::npos);
  for (size_t at; (at = events.find(account)) != std::string::npos;) events.erase(at, account.size());
  {
    std::ofstream out(dir + "/events.jsonl", std::ios::binary);
    out << events;
  }
  ASSERT_EQ(std::system(fmt::format("{0} ingest --data {1}/data {1}/events.jsonl >/dev/null 2>&1 && {0} bill --data "
                                    "{1}/data --quarter 2026Q1 --out {1}/out >/dev/null 2>&1",
                                    TORI_BINARY, dir).c_str()),
            0);
  ASSERT_FALSE(std::filesystem::exists(dir + "/out/finvoice-2026Q1-espoo-kela.xml"));
  auto log = EmbeddedLog::OpenReadOnly(dir + "/data/log");
  ASSERT_TRUE(log.ok()) << log.status();
  auto state = StateStore::OpenReadOnly(dir + "/data/state");
  ASSERT_TRUE(state.ok()) << state.status();
  ApiOptions options;
  options.log = log->get();
  options.state = state->get();
  options.scratch_dir = dir + "/scratch";
  options.data_dir = dir + "/data";
  options.access = &access_;
  Api api(options);
  auto call = [&](const std::string& target) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.authorization = "Bearer " + tokens_["agency-kela"].token;
    return api.Handle(r);
  };
  for (std::string format : {"finvoice", "peppol"}) {
    const HttpResponse response = call("/v1/invoices/2026Q1-espoo-kela/" + format);
    EXPECT_EQ(response.status, 404) << response.body;
    EXPECT_NE(response.body.find("its issuer espoo had no IBAN when it was issued"), std::string::npos)
        << response.body;
  }
  EXPECT_EQ(call("/v1/invoices/2026Q1-espoo-kela/csv").status, 200);
}

TEST_F(ApiTest, TheProofIsTorisProofFileAndVerifiesInAnEmptyDirectory) {
  const std::string cli_file = *dir_ + "/cli-proof.json";
  ASSERT_EQ(std::system(fmt::format("{} proof --data {} --invoice 2026Q1-espoo-kela --out {} >/dev/null 2>&1",
                                    TORI_BINARY, Data(), cli_file).c_str()),
            0);
  const HttpResponse api = Call("GET", "/v1/invoices/2026Q1-espoo-kela/proof", "agency-kela");
  ASSERT_EQ(api.status, 200) << api.body;
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_EQ(api.body, ReadFile(cli_file));
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-dvv/proof", "agency-kela").status, 404);

  // The agency checks it on its own: an empty directory, the proof and the public key.
  const std::string empty = *dir_ + "/agency-kela";
  std::filesystem::create_directories(empty);
  std::filesystem::copy_file(*dir_ + "/host.pub", empty + "/host.pub");
  {
    std::ofstream out(empty + "/proof.json", std::ios::binary);
    out << api.body;
  }
  auto verify = [&](const std::string& file) {
    return std::system(fmt::format("cd {} && {} verify-proof {} --public-key host.pub >/dev/null 2>&1", empty,
                                   TORI_BINARY, file).c_str());
  };
  EXPECT_EQ(verify("proof.json"), 0);
  // A changed document is refused.
  std::string changed = api.body;
  ASSERT_NE(changed.find("total_cents"), std::string::npos);
  const size_t total = changed.find("total_cents");
  changed[changed.find_first_of("0123456789", total)] ^= 1;
  {
    std::ofstream out(empty + "/changed.json", std::ios::binary);
    out << changed;
  }
  EXPECT_NE(verify("changed.json"), 0);
}

TEST_F(ApiTest, NoProofUntilTheHostSignsACheckpointAfterTheInvoice) {
  // A data directory whose host has never signed: no tree, no checkpoint.
  ApiOptions options;
  options.log = log_.get();
  options.state = state_.get();
  options.scratch_dir = *dir_ + "/scratch";
  options.data_dir = *dir_ + "/unsigned";
  options.access = &access_;
  Api api(options);
  HttpRequest r;
  r.method = "GET";
  r.target = "/v1/invoices/2026Q1-espoo-kela/proof";
  r.authorization = "Bearer " + tokens_["agency-kela"].token;
  const HttpResponse response = api.Handle(r);
  EXPECT_EQ(response.status, 404);
  EXPECT_NE(response.body.find("the host has not signed a checkpoint since this invoice was issued"), std::string::npos)
      << response.body;
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/unsigned"));  // read, never written
}

TEST_F(ApiTest, ExplainIsTheCommandLinesJsonByteForByte) {
  const std::string cli = Output(fmt::format("{} explain --data {} --invoice 2026Q1-espoo-kela --json", TORI_BINARY, Data()));
  ASSERT_FALSE(cli.empty());
  const HttpResponse api = Call("GET", "/v1/invoices/2026Q1-espoo-kela/explain", "agency-kela");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, cli);
  const std::string cli_line =
      Output(fmt::format("{} explain --data {} --invoice 2026Q1-espoo-kela --line 1 --json", TORI_BINARY, Data()));
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-kela/explain?line=1", "auditor").body, cli_line);
  EXPECT_EQ(Call("GET", "/v1/invoices/2026Q1-espoo-kela/explain?line=0", "auditor").status, 400);
}

TEST_F(ApiTest, VerifyIsTheCommandLinesJsonByteForByte) {
  const std::string cli = Output(fmt::format("{} verify --data {} --json", TORI_BINARY, Data()));
  ASSERT_NE(cli.find("\"ok\":true"), std::string::npos) << cli;
  const HttpResponse api = Call("GET", "/v1/verify", "auditor");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, cli);
}

TEST_F(ApiTest, ReconcileIsTheCommandLinesReportWithoutItsFiles) {
  const std::string file = *dir_ + "/kela-records.csv";
  {
    std::ofstream out(file);
    out << "contact_id\nno-such-contact\n";
  }
  std::string cli = Output(fmt::format("{} reconcile --data {} --agency kela --quarter 2026Q1 --json {}", TORI_BINARY,
                                       Data(), file));
  // The command line names its files; the API has none.
  for (std::string field : {"\"file\":", ",\"differences_csv\":"}) {
    const size_t at = cli.find(field);
    ASSERT_NE(at, std::string::npos) << cli;
    const size_t end = cli.find('"', cli.find('"', at + field.size()) + 1);
    cli.erase(at, end + 1 - at + (field[0] == '"' ? 1 : 0));
  }
  const HttpResponse api =
      Call("POST", "/v1/reconcile?agency=kela&quarter=2026Q1", "agency-kela", "contact_id\nno-such-contact\n");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, cli);
  EXPECT_EQ(Call("POST", "/v1/reconcile?agency=kela", "agency-kela", "contact_id\n").status, 400);
  EXPECT_EQ(Call("POST", "/v1/reconcile?agency=kela&quarter=2026Q1", "agency-dvv", "contact_id\n").status, 404);
}

TEST_F(ApiTest, TheQuarterReportsAreTheFilesTorisBillWroteForHostsOfAllItsInvoicesAndAuditors) {
  for (const std::string caller : {"auditor", "host-espoo"}) {
    const HttpResponse html = Call("GET", "/v1/quarters/2026Q1/report.html", caller);
    ASSERT_EQ(html.status, 200) << html.body.substr(0, 300);
    EXPECT_EQ(html.body, ReadFile(*dir_ + "/out/report-2026Q1.html"));
    const HttpResponse xlsx = Call("GET", "/v1/quarters/2026Q1/report.xlsx", caller);
    ASSERT_EQ(xlsx.status, 200) << xlsx.body.substr(0, 300);
    EXPECT_EQ(xlsx.body, ReadFile(*dir_ + "/out/invoices-2026Q1.xlsx"));
  }
  EXPECT_EQ(Call("GET", "/v1/quarters/2026Q1/report.html", "host-vantaa").status, 404);
  EXPECT_EQ(Call("GET", "/v1/quarters/2026Q1/report.html", "agency-kela").status, 403);
  EXPECT_EQ(Call("GET", "/v1/quarters/2025Q4/report.html", "auditor").status, 404);
  EXPECT_EQ(Call("GET", "/v1/quarters/2026Q5/report.html", "auditor").status, 400);
}

TEST_F(ApiTest, HealthReadinessAndMetricsNeedNoToken) {
  EXPECT_EQ(Call("GET", "/healthz", "").status, 200);
  const HttpResponse ready = Call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("\"ready\":true"), std::string::npos);
  Call("GET", "/v1/invoices", "agency-kela");
  const std::string metrics = Call("GET", "/metrics", "").body;
  EXPECT_NE(metrics.find("tori_http_requests_total{route=\"GET /v1/invoices\",status=\"200\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("tori_http_request_duration_seconds_bucket{route=\"GET /v1/invoices\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("tori_state_log_lag_events 0"), std::string::npos);
}

TEST_F(ApiTest, TheAccessLogNamesTheGrantButNeverTheTokenOrQuery) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* log = ::open_memstream(&buffer, &size);
  ApiOptions options;
  options.log = log_.get();
  options.state = state_.get();
  options.scratch_dir = *dir_ + "/scratch";
  options.access = &access_;
  options.access_log = log;
  Api api(options);
  HttpRequest r;
  r.method = "GET";
  r.target = "/v1/invoices?quarter=2026Q1";
  r.authorization = "Bearer " + tokens_["agency-kela"].token;
  r.remote = "127.0.0.1";
  EXPECT_EQ(api.Handle(r).status, 200);
  std::fclose(log);
  const std::string line(buffer, size);
  std::free(buffer);
  EXPECT_NE(line.find("\"route\":\"GET /v1/invoices\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"token_id\":\"" + tokens_["agency-kela"].token_id + "\""), std::string::npos) << line;
  EXPECT_EQ(line.find(tokens_["agency-kela"].token), std::string::npos);
  EXPECT_EQ(line.find("2026Q1"), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with("}\n"));
}

// The portal's pages (kPortalRouteTable) walked like the API's routes: every page x every
// caller x own or another agency's ids, logged in through the login form. The status
// follows from the page table and the API's rules: public pages 200; without a session
// (none, or a token revoked after logging in) 303 to the login; a role the page does
// not list 403; another agency's things 404; else 200 (log out: 303). What a host or
// agency sees holds nothing of another agency's invoices.
struct PortalLogin {
  std::string cookie;  // "tori_session=..."
  std::string csrf;
};

std::string SetCookie(const HttpResponse& response, std::string_view name) {
  for (const auto& [header, value] : response.headers) {
    if (header == "Set-Cookie" && value.starts_with(std::string(name) + "=")) return value.substr(0, value.find(';'));
  }
  return "";
}

TEST_F(ApiTest, EveryPortalPageForEveryRoleAnswersAsTheAPIWould) {
  auto login = [&](const std::string& token_name) {
    HttpRequest form;
    form.method = "GET";
    form.target = "/portal/login";
    const std::string nonce_cookie = SetCookie(api_->Handle(form), "tori_login");
    HttpRequest post;
    post.method = "POST";
    post.target = "/portal/login";
    post.content_type = "application/x-www-form-urlencoded";
    post.cookie = nonce_cookie;
    post.body = fmt::format("login_csrf={}&token={}", nonce_cookie.substr(nonce_cookie.find('=') + 1),
                            tokens_.at(token_name).token);
    HttpResponse answer = api_->Handle(post);
    PortalLogin session;
    EXPECT_EQ(answer.status, 303) << token_name << ": " << answer.body;
    session.cookie = SetCookie(answer, "tori_session");
    HttpRequest home;
    home.method = "GET";
    home.target = "/";
    home.cookie = session.cookie;
    const std::string page = api_->Handle(home).body;
    constexpr std::string_view kCsrf = "name=\"csrf\" value=\"";
    if (size_t at = page.find(kCsrf); at != std::string::npos) {
      session.csrf = page.substr(at + kCsrf.size(), 64);
    }
    return session;
  };
  int revoked_count = 0;
  for (const RouteSpec& route : kPortalRouteTable) {
    if (route.method == "POST" && route.pattern == "/portal/login") continue;  // the login itself, above
    for (Caller caller : kCallers) {
      for (bool own : {true, false}) {
        std::string token;
        Role role = Role::kAuditor;
        switch (caller) {
          case Caller::kNone: break;
          case Caller::kRevoked:  // logged in, then revoked: the session ends at once
            token = fmt::format("revoked-later-{}", ++revoked_count);
            Grant(token, Role::kAgency, "kela");
            break;
          case Caller::kHost: token = own ? "host-espoo" : "host-vantaa"; role = Role::kHost; break;
          case Caller::kAgency: token = "agency-kela"; role = Role::kAgency; break;
          case Caller::kAuditor: token = "auditor"; role = Role::kAuditor; break;
          case Caller::kIntake: token = "intake"; role = Role::kIntake; break;
          case Caller::kGranted:  // as if espoo or lahti (a host of nothing here) had granted it
            token = own ? "portal-granted-espoo" : "portal-granted-lahti";
            if (!tokens_.contains(token)) Grant(token, Role::kAgency, "kela", "", own ? "espoo" : "lahti");
            role = Role::kAgency;
            break;
        }
        PortalLogin session;
        if (!token.empty()) session = login(token);
        if (caller == Caller::kRevoked) {
          ASSERT_TRUE(access_.Revoke(tokens_[token].token_id).ok());
        }
        std::string target_agency = own || caller == Caller::kGranted ? "kela" : "dvv";
        if (caller == Caller::kHost && route.scope == Scope::kAgencyQuery) target_agency = own ? "espoo" : "kela";
        std::string path(route.pattern);
        if (size_t at = path.find("{quarter}"); at != std::string::npos) path.replace(at, 9, "2026Q1");
        if (size_t at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, "2026Q1-espoo-" + target_agency);
        HttpRequest request;
        request.method = std::string(route.method);
        request.target = path;
        request.cookie = session.cookie;
        if (route.method == "POST") {
          request.content_type = "application/x-www-form-urlencoded";
          request.body = fmt::format("csrf={}&agency={}&quarter=2026Q1&csv=contact_id%0D%0A", session.csrf,
                                     target_agency);
        }
        const bool logged_in = caller != Caller::kNone && caller != Caller::kRevoked;
        int expected = 200;
        if (route.public_route) {
          // The login form, to someone logged in: on to the quarters.
          expected = route.pattern == "/portal/login" && logged_in ? 303 : 200;
        } else if (!logged_in) {
          expected = 303;
        } else if (!Has(route.roles, role)) {
          expected = 403;
        } else if (route.scope != Scope::kNone && (role == Role::kHost || role == Role::kAgency) && !own) {
          expected = 404;
        } else if (route.pattern == "/portal/logout") {
          expected = 303;
        }
        const HttpResponse response = api_->Handle(request);
        EXPECT_EQ(response.status, expected) << RouteName(route) << " as " << CallerName(caller)
                                             << (own ? " (own ids) " : " (other's ids) ") << path << ": "
                                             << response.body.substr(0, 300);
        if (expected == 303 && !logged_in) {
          bool to_login = false;
          for (const auto& [h, v] : response.headers) to_login |= h == "Location" && v == "/portal/login";
          EXPECT_TRUE(to_login) << RouteName(route) << " as " << CallerName(caller);
        }
        if (response.status == 200 && (caller == Caller::kAgency || (caller == Caller::kHost && !own))) {
          EXPECT_EQ(response.body.find("2026Q1-espoo-dvv"), std::string::npos)
              << RouteName(route) << " as " << CallerName(caller) << " shows dvv's invoice";
        }
        if (response.status == 200 && caller == Caller::kGranted) {
          EXPECT_EQ(response.body.find(own ? "2026Q1-espoo-dvv" : "2026Q1-espoo-"), std::string::npos)
              << RouteName(route) << " as " << CallerName(caller) << " shows an invoice it may not see";
        }
        bool has_csp = false;
        for (const auto& [h, v] : response.headers) has_csp |= h == "Content-Security-Policy";
        EXPECT_TRUE(has_csp) << RouteName(route);
      }
    }
  }
}

}  // namespace
}  // namespace tori::server
