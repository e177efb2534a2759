/* swim-board: the firmware core on a Linux machine, over a simulated array, served on a pseudo-terminal (as a USB
 * serial board appears) and on TCP (as a networked bench box does). Single-threaded, like a microcontroller's main
 * loop: bytes in are fed to the core, whose answers go out on the link they came from. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "sim_array.h"
#include "swim_board.h"

#define OUT_CAPACITY (2 * SWIM_MAX_RESPONSE_BODY + 64)

typedef struct connection {
    int fd;
    size_t pending;
    uint8_t out[OUT_CAPACITY];
    swim_link link;
} connection;

static swim_board s_board;
static connection s_links[SWIM_MAX_LINKS];
static volatile sig_atomic_t s_stop;

static void on_signal(int signal_number) { (void)signal_number; s_stop = 1; }

static void write_all(int fd, const uint8_t *bytes, size_t count)
{
    while (count > 0) {
        ssize_t sent = write(fd, bytes, count);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return; /* the peer went away; its next read says so */
        }
        bytes += sent;
        count -= (size_t)sent;
    }
}

/* Frames are gathered and sent whole, so a TCP answer is one segment rather than one per COBS group. */
static void link_write(void *context, const uint8_t *bytes, size_t count)
{
    connection *c = context;
    if (c->pending + count > OUT_CAPACITY) {
        write_all(c->fd, c->out, c->pending);
        c->pending = 0;
    }
    memcpy(c->out + c->pending, bytes, count);
    c->pending += count;
}

static void link_flush(void *context)
{
    connection *c = context;
    write_all(c->fd, c->out, c->pending);
    c->pending = 0;
}

static connection *attach(int fd)
{
    for (int i = 0; i < SWIM_MAX_LINKS; i++) {
        if (s_links[i].fd < 0) {
            s_links[i].fd = fd;
            s_links[i].pending = 0;
            swim_link_init(&s_links[i].link, &s_links[i], link_write, link_flush);
            return &s_links[i];
        }
    }
    return NULL;
}

static int open_pty(const char *link_path, int *keep_slave)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        return -1;
    }
    const char *slave_path = ptsname(master);
    /* Raw both ways, no echo: the pair carries frames, not a terminal session. Holding the slave open keeps the
     * master readable while the controller closes and reopens the port. */
    *keep_slave = open(slave_path, O_RDWR | O_NOCTTY);
    struct termios raw;
    if (*keep_slave < 0 || tcgetattr(*keep_slave, &raw) != 0) {
        return -1;
    }
    cfmakeraw(&raw);
    tcsetattr(*keep_slave, TCSANOW, &raw);
    if (link_path != NULL) {
        unlink(link_path);
        if (symlink(slave_path, link_path) != 0) {
            perror("swim-board: --pty link");
            return -1;
        }
    }
    printf("pty %s\n", slave_path);
    return master;
}

static int listen_tcp(const char *address)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(address, ':');
    int port = atoi(colon != NULL ? colon + 1 : address);
    if (colon != NULL && (size_t)(colon - address) < sizeof host) {
        memcpy(host, address, (size_t)(colon - address));
        host[colon - address] = 0;
    }
    struct sockaddr_in at = {0};
    at.sin_family = AF_INET;
    at.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM, 0), yes = 1;
    if (fd < 0 || inet_pton(AF_INET, host, &at.sin_addr) != 1) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, (struct sockaddr *)&at, sizeof at) != 0 || listen(fd, 4) != 0) {
        return -1;
    }
    socklen_t size = sizeof at;
    getsockname(fd, (struct sockaddr *)&at, &size);
    printf("tcp %s:%d\n", host, ntohs(at.sin_port));
    return fd;
}

static int parse_geometry(const char *text, uint32_t *tiles, uint32_t *rows, uint32_t *columns)
{
    return sscanf(text, "%ux%ux%u", tiles, rows, columns) == 3 && *tiles > 0 && *rows > 0 && *columns > 0 &&
           *tiles <= 65535 && *rows <= 65535 && *columns <= 65535;
}

/* What exactly-once is checked by: how many cells were programmed, and verified, how many times. */
static void write_audit(const char *path, const sim_array *a)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror("swim-board: --audit");
        return;
    }
    size_t cells = (size_t)a->tiles * a->rows * a->columns, programmed[3] = {0}, verified[3] = {0};
    for (size_t i = 0; i < cells; i++) {
        programmed[a->programmed[i] > 2 ? 2 : a->programmed[i]]++;
        verified[a->verified[i] > 2 ? 2 : a->verified[i]]++;
    }
    const swim_board_stats *s = &s_board.stats;
    fprintf(f, "{\"cells\": %zu, \"programmed\": [%zu, %zu, %zu], \"verified\": [%zu, %zu, %zu], "
               "\"pulses\": %llu, \"reads\": %llu, \"verify_iterations\": %llu, \"frames_received\": %u, "
               "\"crc_errors\": %u, \"framing_errors\": %u, \"replays\": %u, \"executed\": %u}\n",
            cells, programmed[0], programmed[1], programmed[2], verified[0], verified[1], verified[2],
            (unsigned long long)s->pulses, (unsigned long long)s->reads, (unsigned long long)s->verify_iterations,
            s->frames_received, s->crc_errors, s->framing_errors, s->replays, s->executed);
    fclose(f);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: swim-board [--tcp HOST:PORT] [--pty LINK] [--geometry TILESxROWSxCOLUMNS] [--seed N] [--audit FILE]\n"
            "  serves the Swim protocol, version 2, from the portable firmware core over a simulated RRAM array.\n"
            "  --tcp 127.0.0.1:0 picks a free port; --pty - makes a pseudo-terminal without a link to it.\n"
            "  Prints 'pty PATH' and 'tcp HOST:PORT' once listening; on SIGTERM or SIGINT writes --audit and exits.\n");
    return 2;
}

static void serve(int listener, int pty)
{
    while (!s_stop) {
        struct pollfd fds[SWIM_MAX_LINKS + 1];
        connection *owner[SWIM_MAX_LINKS + 1];
        nfds_t n = 0;
        if (listener >= 0) {
            fds[n].fd = listener; fds[n].events = POLLIN; owner[n++] = NULL;
        }
        for (int i = 0; i < SWIM_MAX_LINKS; i++) {
            if (s_links[i].fd >= 0) {
                fds[n].fd = s_links[i].fd; fds[n].events = POLLIN; owner[n++] = &s_links[i];
            }
        }
        if (poll(fds, n, 200) <= 0) {
            continue;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (owner[i] == NULL) {
                int client = accept(listener, NULL, NULL), yes = 1;
                setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
                if (client >= 0 && attach(client) == NULL) {
                    close(client); /* every link is taken */
                }
                continue;
            }
            uint8_t buffer[16384];
            ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                swim_board_receive(&s_board, &owner[i]->link, buffer, (size_t)got);
            } else if (fds[i].fd != pty && (got == 0 || errno != EINTR)) {
                close(owner[i]->fd); /* sessions outlive the connection (section 1.3) */
                owner[i]->fd = -1;
            }
        }
    }
}

int main(int argc, char **argv)
{
    const char *tcp = NULL, *pty_link = NULL, *audit = NULL;
    uint32_t tiles = 4, rows = 256, columns = 256;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) return usage();
        if (strcmp(argv[i], "--tcp") == 0) tcp = value;
        else if (strcmp(argv[i], "--pty") == 0) pty_link = value;
        else if (strcmp(argv[i], "--audit") == 0) audit = value;
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(value, NULL, 10);
        else if (strcmp(argv[i], "--geometry") == 0) {
            if (!parse_geometry(value, &tiles, &rows, &columns)) {
                fprintf(stderr, "swim-board: --geometry '%s' is not TILESxROWSxCOLUMNS of 1 to 65535 each (e.g. 4x256x256)\n", value);
                return 2;
            }
        } else return usage();
        i++;
    }
    if (tcp == NULL && pty_link == NULL) return usage();
    static sim_array array;
    static swim_board_config config;
    static swim_hal hal;
    if (sim_array_init(&array, tiles, rows, columns, seed) != 0) {
        fprintf(stderr, "swim-board: not enough memory for %ux%ux%u cells\n", tiles, rows, columns);
        return 2;
    }
    sim_array_config(&array, &config, seed);
    sim_array_hal(&array, &hal);
    swim_cell_counters *counters = calloc((size_t)tiles * rows * columns, sizeof *counters);
    int problem = swim_board_init(&s_board, &config, &hal, counters, (uint16_t)(getpid() * 2654435761u >> 16));
    if (problem != 0 || counters == NULL) {
        fprintf(stderr, "swim-board: configuration refused: %s\n", swim_config_problem(problem));
        return 2;
    }
    for (int i = 0; i < SWIM_MAX_LINKS; i++) {
        s_links[i].fd = -1;
    }
    struct sigaction stop = {0};
    stop.sa_handler = on_signal;
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int slave = -1, pty = -1, listener = -1;
    if (pty_link != NULL && ((pty = open_pty(strcmp(pty_link, "-") == 0 ? NULL : pty_link, &slave)) < 0 || attach(pty) == NULL)) {
        fprintf(stderr, "swim-board: cannot make a pseudo-terminal: %s\n", strerror(errno));
        return 2;
    }
    if (tcp != NULL && (listener = listen_tcp(tcp)) < 0) {
        fprintf(stderr, "swim-board: cannot listen on '%s' (HOST:PORT, e.g. 127.0.0.1:5025): %s\n", tcp, strerror(errno));
        return 2;
    }
    fflush(stdout);
    serve(listener, pty);
    if (audit != NULL) {
        write_audit(audit, &array);
    }
    if (pty_link != NULL && strcmp(pty_link, "-") != 0) {
        unlink(pty_link);
    }
    return 0;
}
