#include "services/projector/projector.h"
#include "gtest/gtest.h"
TEST(P, Placeholder) {}
