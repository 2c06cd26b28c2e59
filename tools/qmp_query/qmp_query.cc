// SPDX-License-Identifier: GPL-2.0
// qmp_query: send QMP commands to a running QEMU and print its replies,
// for the test host, which has neither socat nor a netcat with Unix
// sockets.
//
//   qmp_query [--timeout SECONDS] SOCKET COMMAND...
//
// Connects to the Unix socket SOCKET (QEMU's -qmp unix:SOCKET,server=on,
// wait=off), reads the greeting, leaves capabilities negotiation
// (qmp_capabilities), then sends each COMMAND, a JSON object given as it
// is (e.g. '{"execute": "query-stats", "arguments": {"target": "vcpu"}}'),
// and prints its reply on one line.  QEMU writes every QMP message as one
// line, so a line is a message; a reply starts with {"return" or {"error",
// and what else comes in between (events) is skipped.  Exit status 1, with a line naming what failed, when the
// socket cannot be reached, QEMU closes it or stays silent for SECONDS
// (default 10), or a command's reply is an error (the reply is printed
// first).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

#include "sys.h"

namespace {

using Clock = std::chrono::steady_clock;

class QmpConnection {
public:
	QmpConnection(const std::string &path, int timeout_ms) : timeout_ms_(timeout_ms)
	{
		sockaddr_un addr{};
		if (path.size() >= sizeof(addr.sun_path))
			throw std::runtime_error("socket path too long: " + path);
		fd_ = kvmx::Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		if (!fd_.valid())
			kvmx::throw_errno("socket(AF_UNIX)");
		addr.sun_family = AF_UNIX;
		std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
		if (::connect(fd_.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)))
			kvmx::throw_errno("connect(" + path + ")");
	}

	// The next message, the greeting included.
	std::string message()
	{
		return line();
	}

	// The next reply: events are skipped.
	std::string reply()
	{
		for (;;) {
			std::string msg = line();
			if (msg.rfind("{\"return\"", 0) == 0 || msg.rfind("{\"error\"", 0) == 0)
				return msg;
		}
	}

	void send(const std::string &json)
	{
		std::string msg = json + "\n";
		size_t done = 0;

		while (done < msg.size()) {
			ssize_t n = ::write(fd_.get(), msg.data() + done, msg.size() - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				kvmx::throw_errno("write(QMP socket)");
			done += n;
		}
	}

private:
	// One line without its "\r\n", waiting at most the time-out in all.
	std::string line()
	{
		auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);

		for (;;) {
			size_t nl = buf_.find('\n');
			if (nl != std::string::npos) {
				std::string msg = buf_.substr(0, nl);
				buf_.erase(0, nl + 1);
				if (!msg.empty() && msg.back() == '\r')
					msg.pop_back();
				return msg;
			}
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - Clock::now()).count();
			if (left <= 0)
				throw std::runtime_error("no reply from QEMU within " +
							 std::to_string(timeout_ms_ / 1000) + " s");
			pollfd p{fd_.get(), POLLIN, 0};
			int r = ::poll(&p, 1, static_cast<int>(left));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				kvmx::throw_errno("poll(QMP socket)");
			if (r == 0)
				continue;
			char chunk[4096];
			ssize_t n = ::read(fd_.get(), chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				kvmx::throw_errno("read(QMP socket)");
			if (n == 0)
				throw std::runtime_error("QEMU closed the QMP socket");
			buf_.append(chunk, n);
		}
	}

	kvmx::Fd fd_;
	int timeout_ms_;
	std::string buf_;
};

bool is_error(const std::string &msg)
{
	return msg.rfind("{\"error\"", 0) == 0;
}

[[noreturn]] void usage(int status)
{
	(status ? std::cerr : std::cout)
		<< "usage: qmp_query [--timeout SECONDS] SOCKET COMMAND...\n"
		   "Sends each COMMAND (a JSON object) to QEMU's QMP socket after\n"
		   "qmp_capabilities and prints each reply on one line.\n";
	std::exit(status);
}

} // namespace

int main(int argc, char **argv)
{
	int timeout_s = 10;
	int i = 1;

	if (i < argc && (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")))
		usage(0);
	if (i + 1 < argc && !std::strcmp(argv[i], "--timeout")) {
		char *end;
		long v = std::strtol(argv[i + 1], &end, 10);
		if (*end || v <= 0 || v > 3600)
			usage(2);
		timeout_s = static_cast<int>(v);
		i += 2;
	}
	if (argc - i < 2)
		usage(2);
	try {
		QmpConnection qmp(argv[i], timeout_s * 1000);
		std::string greeting = qmp.message();
		if (greeting.rfind("{\"QMP\"", 0) != 0)
			throw std::runtime_error("not a QMP greeting: " + greeting);
		qmp.send("{\"execute\": \"qmp_capabilities\"}");
		std::string r = qmp.reply();
		if (is_error(r))
			throw std::runtime_error("qmp_capabilities: " + r);
		for (i++; i < argc; i++) {
			qmp.send(argv[i]);
			r = qmp.reply();
			std::cout << r << std::endl;
			if (is_error(r))
				throw std::runtime_error(std::string("QEMU refused ") + argv[i]);
		}
	} catch (const std::exception &e) {
		std::cerr << "qmp_query: " << e.what() << "\n";
		return 1;
	}
	return 0;
}
