# The rules of a static C++ tool for the test host (it has no libc): a
# Makefile in tools/NAME sets NAME, SRCS (its own .cc files and those of
# selftests/lib it uses) and HDRS (their headers), then includes this.
OUT ?= ../../build/$(NAME)
OBJ ?= $(OUT)-obj
LIB := ../../selftests/lib
CXX ?= g++
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -I$(LIB) -I../../include/uapi
LDFLAGS += -static

OBJS := $(patsubst %.cc,$(OBJ)/%.o,$(notdir $(SRCS)))

all: $(OUT)

$(OBJ)/%.o: %.cc $(HDRS)
	@mkdir -p $(OBJ)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

$(OBJ)/%.o: $(LIB)/%.cc $(HDRS)
	@mkdir -p $(OBJ)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

$(OUT): $(OBJS)
	@mkdir -p $(dir $(OUT))
	$(CXX) $(LDFLAGS) -o $@ $^

clean:
	rm -rf $(OUT) $(OBJ)

.PHONY: all clean
