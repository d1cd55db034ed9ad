// Base64 against the RFC 4648 section 10 test vectors, exact round trips of float arrays (the
// in-flight rollout batch of an online checkpoint travels this way), and malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/base64.h"
#include "core/error.h"

namespace tandem {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> v[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : v) {
    EXPECT_EQ(base64_encode(plain.data(), plain.size()), coded);
    const auto back = base64_decode(coded);
    EXPECT_EQ(std::string(back.begin(), back.end()), plain);
  }
  const uint8_t all[] = {0x00, 0xff, 0xfe, 0x80, 0x7f, 0x3e, 0x3f};
  EXPECT_EQ(base64_encode(all, sizeof(all)), "AP/+gH8+Pw==");
}

TEST(Base64, FloatArraysRoundTripExactly) {
  std::vector<float> x = {0.f, -0.f, 1e-38f, -3.4e38f, 0.1f, std::nextafter(1.f, 2.f),
                          std::numeric_limits<float>::denorm_min(), -12.375f};
  bool ok = false;
  const auto y = vector_of_base64<float>(base64_of(x), &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(y.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(std::memcmp(&x[i], &y[i], sizeof(float)), 0) << i;
  vector_of_base64<float>(base64_of(std::vector<uint8_t>{1, 2, 3}), &ok);
  EXPECT_FALSE(ok) << "3 bytes are not whole floats";
}

TEST(Base64, MalformedInputIsAnError) {
  EXPECT_THROW(base64_decode("Zm9"), Error);
  EXPECT_THROW(base64_decode("Zm9*"), Error);
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);
}

}  // namespace
}  // namespace tandem
