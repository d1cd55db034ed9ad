#include "core/error.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "testing/testing.h"

namespace tandem {

TEST(Error, MessageHasWhereAndOrigin) {
  try {
    throw Error("model.config.hidden_size", "expected an integer, got string");
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("[model.config.hidden_size] expected an integer, got string"), std::string::npos) << m;
    EXPECT_NE(m.find("error_test.cpp"), std::string::npos) << m;
    EXPECT_EQ(e.where(), "model.config.hidden_size");
  }
}

TEST(Json, FieldErrorsNameKeyAndFile) {
  const Json j = Json::parse(R"({"a": "x", "b": 2.5, "c": 3})");
  EXPECT_EQ(json_int(j, "c", "cfg", "f.json"), 3);
  try {
    json_int(j, "a", "cfg", "f.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "cfg.a");
    EXPECT_NE(std::string(e.what()).find("expected an integer, got string"), std::string::npos) << e.what();
  }
  EXPECT_THROW(json_int(j, "b", "cfg", "f.json"), Error);
  try {
    json_int(j, "missing", "cfg", "f.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "cfg.missing");
    EXPECT_NE(std::string(e.what()).find("f.json"), std::string::npos);
  }
}

TEST(File, AtomicWriteReplacesWholeFileOrNothing) {
  testing::TempDir dir("atomic");
  const std::string p = dir.file("x.txt");
  write_file_atomic(p, "first");
  EXPECT_EQ(read_file(p), "first");
  EXPECT_THROW(write_file_atomic(p, [&](int fd) {
                 write_all(fd, "partial", 7, p);
                 throw Error("test", "writer failed midway");
               }),
               Error);
  EXPECT_EQ(read_file(p), "first");  // untouched, and no temporary left behind
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++n;
  EXPECT_EQ(n, 1);
}

TEST(Rng, PureFunctionOfIndexAndNormalMoments) {
  Rng a(42, 1), b(42, 1), c(42, 2);
  EXPECT_EQ(a.bits(12345), b.bits(12345));
  EXPECT_NE(a.bits(12345), c.bits(12345));
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = a.normal(i);
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
}

}  // namespace tandem
