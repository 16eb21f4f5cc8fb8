// Test helpers shared by the tests that run programs: a shell command's exit code and
// its stdout and stderr together, a program started in the background (to be killed),
// programs killed at random moments, invoices.json without its log positions.
#ifndef TORI_TESTS_RUN_COMMAND_H_
#define TORI_TESTS_RUN_COMMAND_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tori::testing {

struct CommandResult {
  int exit_code;    // -1 when it could not run or did not exit normally
  std::string out;  // stdout and stderr together
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.out.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Starts `args` (argv[0] a path) with stdout and stderr to /dev/null; -1 on failure.
inline pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Starts `args` `rounds` times, one after the other, and kills each with SIGKILL after
// a random lifetime of min_ms..max_ms if it still runs. Returns how many it killed
// running (kills of a finished run test nothing), -1 when one could not start.
inline int StartAndKill(const std::vector<std::string>& args, int rounds, int64_t min_ms,
                        int64_t max_ms, std::mt19937_64& rng) {
  std::uniform_int_distribution<int64_t> lifetime_ms(min_ms, max_ms);
  int killed_running = 0;
  for (int round = 0; round < rounds; ++round) {
    const pid_t pid = Spawn(args);
    if (pid <= 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(lifetime_ms(rng)));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {  // still running: kill it
      if (::kill(pid, SIGKILL) != 0) return -1;
      ++killed_running;
      ::waitpid(pid, &status, 0);
    }
  }
  return killed_running;
}

// The file without its "as_of" lines (log positions differ between logs).
inline std::string ReadWithoutAsOf(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("\"as_of\"") == std::string::npos) out += line + "\n";
  }
  return out;
}

// The file without its "as_of" and "tree_heads" lines: for documents billed from two
// different logs of the same events (Kafka's partitions and the embedded log's one have
// other positions and other Merkle trees).
inline std::string ReadWithoutLogHeads(const std::filesystem::path& path) {
  std::string out;
  std::istringstream in(ReadWithoutAsOf(path));
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"tree_heads\"") == std::string::npos) out += line + "\n";
  }
  return out;
}

}  // namespace tori::testing

#endif  // TORI_TESTS_RUN_COMMAND_H_
