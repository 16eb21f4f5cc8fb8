// Test helper shared by the tests that run programs: a shell command's exit code and
// its stdout and stderr together.
#ifndef TORI_TESTS_RUN_COMMAND_H_
#define TORI_TESTS_RUN_COMMAND_H_

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

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

}  // namespace tori::testing

#endif  // TORI_TESTS_RUN_COMMAND_H_
