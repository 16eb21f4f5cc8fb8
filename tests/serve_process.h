// A running `tori serve` for the tests that talk to it as a process (serve_cli_test,
// access_cli_test, serve_write_test, serve_kafka_test): started with TORI_BINARY, its
// port read from its "listening on" line, stopped with SIGTERM.
#ifndef TORI_TESTS_SERVE_PROCESS_H_
#define TORI_TESTS_SERVE_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tori::testing {

// The exit code of a shell command (-1 when it did not exit normally).
inline int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of "key":"..." in a JSON answer ("" when absent): enough for the grants'
// token and token_id, whose values hold no escapes.
inline std::string JsonStringField(const std::string& json, const std::string& key) {
  const std::string quoted = "\"" + key + "\":\"";
  const size_t at = json.find(quoted);
  if (at == std::string::npos) return "";
  const size_t from = at + quoted.size();
  return json.substr(from, json.find('"', from) - from);
}

// A running `tori serve`, stopped with SIGTERM.
class Serve {
 public:
  explicit Serve(std::vector<std::string> args, const std::string& out) {
    args.insert(args.begin(), {TORI_BINARY, "serve"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    // Its port, once it says it listens (at most 20 s).
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      const std::string text = ReadFile(out);
      if (size_t at = text.find("listening on "); at != std::string::npos && text.ends_with("\n")) {
        port_ = static_cast<uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  ~Serve() {
    if (pid_ > 0) Stop();
  }
  uint16_t port() const { return port_; }
  // SIGKILL, as a crash would end it.
  void Kill() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace tori::testing

#endif  // TORI_TESTS_SERVE_PROCESS_H_
