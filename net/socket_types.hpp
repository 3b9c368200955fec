#pragma once

#include <chrono>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace dockmaster::net {

/// The proxy path's sockets and timers name their io_context's executor type rather
/// than asio's type-erased any_io_executor: each socket is 32 B smaller, each pending
/// operation 40 B smaller, and no completion pays for copies of a type-erased executor.
/// Every such object lives on one worker's io_context anyway.
using io_executor = boost::asio::io_context::executor_type;
using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, io_executor>;
using tcp_acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, io_executor>;
using steady_timer = boost::asio::basic_waitable_timer<
    std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, io_executor>;

}  // namespace dockmaster::net
