// Event files are read back by python3-protobuf (tests/reference/read_tfevents.py), which checks
// every CRC and decodes the Event messages with TensorBoard's field numbers.
#include "train/tensorboard.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/json.h"
#include "testing/testing.h"

namespace tandem::train {
namespace {

TEST(TensorBoard, Crc32cKnownValue) {
  // CRC-32C check value from RFC 3720 / the Castagnoli definition: "123456789" -> 0xE3069283.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(TensorBoard, ScalarsReadBackByProtobuf) {
  testing::TempDir dir("tb");
  std::string path;
  {
    TensorBoardWriter w(dir.path());
    path = w.path();
    w.add_scalars(1, {{"train/loss", 2.5}, {"train/lr", 1e-4}});
    w.add_scalars(300, {{"train/loss", 0.125}});
  }
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/read_tfevents.py ", path), &out), 0) << out;
  std::istringstream in(out);
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(Json::parse(line));
  ASSERT_EQ(rows.size(), 3u) << out;
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_EQ(rows[0]["tag"], "train/loss");
  EXPECT_DOUBLE_EQ(rows[0]["value"].get<double>(), 2.5);
  EXPECT_NEAR(rows[1]["value"].get<double>(), 1e-4, 1e-10);
  EXPECT_EQ(rows[2]["step"], 300);
  EXPECT_DOUBLE_EQ(rows[2]["value"].get<double>(), 0.125);
}

}  // namespace
}  // namespace tandem::train
