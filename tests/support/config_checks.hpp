#pragma once

// Assertions on config parsing shared by the config tests.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/parse.hpp"

namespace dockmaster::test {

/// Checks that the JSON `text` is rejected with a config_error at `path` whose problem
/// contains `fragment`; the message names what differed.
inline ::testing::AssertionResult fails_with(const std::string& text, const std::string& path,
                                             const std::string& fragment) {
  try {
    config::parse_config(nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    return ::testing::AssertionFailure() << "the test's document is not JSON: " << e.what();
  } catch (const config::config_error& e) {
    if (e.path() == path && e.problem().find(fragment) != std::string::npos)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got path \"" << e.path() << "\", problem \""
                                         << e.problem() << "\"";
  }
  return ::testing::AssertionFailure() << "no config_error for " << text;
}

}  // namespace dockmaster::test
