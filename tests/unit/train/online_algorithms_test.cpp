// The one list of online algorithms (train::online_algorithms): each has an objective preset of
// its name, validation accepts exactly these, and the CLI offers each as a command.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "objective/presets.h"
#include "testing/testing.h"
#include "train/online_config.h"

namespace tandem::train {
namespace {

TEST(OnlineAlgorithms, EachHasAPresetAndACommand) {
  std::string help;
  ASSERT_EQ(testing::run_command(testing::tandem_binary() + " --help", &help), 0) << help;
  std::set<std::string> seen;
  for (const OnlineAlgorithmEntry& a : online_algorithms()) {
    SCOPED_TRACE(a.name);
    EXPECT_TRUE(seen.insert(a.name).second) << "listed twice";
    EXPECT_TRUE(objective::has_preset(a.name));
    EXPECT_TRUE(is_online_algorithm(a.name));
    EXPECT_FALSE(std::string(a.summary).empty());
    EXPECT_NE(help.find(std::string("  ") + a.name + " "), std::string::npos) << "no `tandem " << a.name << "` command";
  }
  for (const char* offline : {"sft", "dpo", "kto", "rm", "simpo", "not_an_algorithm"}) EXPECT_FALSE(is_online_algorithm(offline)) << offline;
  EXPECT_GE(seen.size(), 18u);
}

}  // namespace
}  // namespace tandem::train
