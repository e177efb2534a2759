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
/* A wire frame of the largest body the protocol allows, COBS overhead and delimiter included. */
#define WIRE_CAPACITY (65536 + 65536 / 254 + 2)

typedef struct connection {
    int fd;
    size_t pending, inbound;
    uint8_t out[OUT_CAPACITY];
    uint8_t in[WIRE_CAPACITY]; /* an inbound frame being gathered, when faults are injected */
    swim_link link;
} connection;

/* Link faults, per frame and both ways, as `swim emulator --faults` names them: a bench's bad cable or a bridge. */
typedef struct fault_profile {
    double drop, corrupt, duplicate, delay, garbage;
    uint32_t max_delay_ms;
    int any;
} fault_profile;

typedef struct delayed_frame {
    int used, inbound;
    connection *owner;
    uint64_t due_us;
    size_t length;
    uint8_t *bytes;
} delayed_frame;

#define MAX_DELAYED 64

static swim_board s_board;
static connection s_links[SWIM_MAX_LINKS];
static volatile sig_atomic_t s_stop;
static fault_profile s_faults;
static delayed_frame s_delayed[MAX_DELAYED];
static uint64_t s_fault_random = 0x2545F4914F6CDD1Dull;
static unsigned long s_injected[5]; /* dropped, corrupted, duplicated, delayed, garbage */

static volatile sig_atomic_t s_dump;
static void on_signal(int signal_number) { (void)signal_number; s_stop = 1; }
static void on_dump(int signal_number) { (void)signal_number; s_dump = 1; }

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

static double fault_draw(void)
{
    s_fault_random ^= s_fault_random << 13; s_fault_random ^= s_fault_random >> 7; s_fault_random ^= s_fault_random << 17;
    return (double)(s_fault_random >> 11) / 9007199254740992.0;
}

static void deliver(connection *c, int inbound, const uint8_t *bytes, size_t count)
{
    if (inbound) {
        swim_board_receive(&s_board, &c->link, bytes, count);
    } else if (c->fd >= 0) {
        write_all(c->fd, bytes, count);
    }
}

/* One whole wire frame (ending in its delimiter), damaged as the profile draws: dropped, a bit flipped, sent
 * twice, held back so later frames overtake it, or preceded by line noise. */
static void pass_frame(connection *c, int inbound, uint8_t *frame, size_t count)
{
    if (!s_faults.any) {
        deliver(c, inbound, frame, count);
        return;
    }
    if (fault_draw() < s_faults.drop) {
        s_injected[0]++;
        return;
    }
    if (fault_draw() < s_faults.corrupt && count > 1) {
        frame[(size_t)(fault_draw() * (double)(count - 1))] ^= (uint8_t)(1u << (int)(fault_draw() * 8));
        s_injected[1]++;
    }
    if (fault_draw() < s_faults.garbage) {
        uint8_t noise[17];
        size_t n = 1 + (size_t)(fault_draw() * 15);
        for (size_t i = 0; i < n; i++) noise[i] = (uint8_t)(1 + fault_draw() * 255);
        noise[n] = 0;
        deliver(c, inbound, noise, n + 1);
        s_injected[4]++;
    }
    int copies = fault_draw() < s_faults.duplicate ? 2 : 1;
    s_injected[2] += copies == 2;
    if (fault_draw() < s_faults.delay) {
        for (int i = 0; i < MAX_DELAYED; i++) {
            uint8_t *held = s_delayed[i].used ? NULL : malloc(count);
            if (held != NULL) {
                memcpy(held, frame, count);
                uint64_t due = sim_monotonic_us() + (uint64_t)(fault_draw() * s_faults.max_delay_ms * 1000.0);
                s_delayed[i] = (delayed_frame){1, inbound, c, due, count, held};
                s_injected[3]++;
                copies--;
                break;
            }
        }
    }
    for (int i = 0; i < copies; i++) {
        deliver(c, inbound, frame, count);
    }
}

/* Delivers held-back frames whose time has come; returns milliseconds until the next one (at most `most`). */
static int release_delayed(int most)
{
    uint64_t now = sim_monotonic_us();
    for (int i = 0; i < MAX_DELAYED; i++) {
        delayed_frame *d = &s_delayed[i];
        if (d->used && d->due_us <= now) {
            /* The slot stays taken while the frame is delivered: an inbound frame's answer may itself be held back. */
            deliver(d->owner, d->inbound, d->bytes, d->length);
            free(d->bytes);
            d->used = 0;
        } else if (d->used && (int)((d->due_us - now) / 1000u) < most) {
            most = (int)((d->due_us - now) / 1000u);
        }
    }
    return most;
}

static void receive(connection *c, const uint8_t *bytes, size_t count)
{
    if (!s_faults.any) {
        swim_board_receive(&s_board, &c->link, bytes, count);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (c->inbound < WIRE_CAPACITY) {
            c->in[c->inbound] = bytes[i];
        }
        c->inbound++;
        if (bytes[i] == 0) {
            if (c->inbound <= WIRE_CAPACITY) {
                pass_frame(c, 1, c->in, c->inbound);
            }
            c->inbound = 0; /* a block longer than any frame is dropped whole, as the board would drop it */
        }
    }
}

static int parse_faults(const char *text)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *part = strtok(copy, ","); part != NULL; part = strtok(NULL, ",")) {
        char *equals = strchr(part, '=');
        if (equals == NULL) return 0;
        *equals = 0;
        char *end;
        double value = strtod(equals + 1, &end);
        if (strcmp(part, "maxdelay") == 0) {
            if (end == equals + 1 || (*end != 0 && strcmp(end, "ms") != 0) || value < 0) return 0;
            s_faults.max_delay_ms = (uint32_t)value;
            continue;
        }
        if (end == equals + 1 || *end != 0 || !(value >= 0 && value <= 1)) return 0;
        if (strcmp(part, "drop") == 0) s_faults.drop = value;
        else if (strcmp(part, "corrupt") == 0) s_faults.corrupt = value;
        else if (strcmp(part, "duplicate") == 0) s_faults.duplicate = value;
        else if (strcmp(part, "delay") == 0) s_faults.delay = value;
        else if (strcmp(part, "garbage") == 0) s_faults.garbage = value;
        else return 0;
        s_faults.any = 1;
    }
    return 1;
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
    pass_frame(c, 0, c->out, c->pending);
    c->pending = 0;
}

static connection *attach(int fd)
{
    for (int i = 0; i < SWIM_MAX_LINKS; i++) {
        if (s_links[i].fd < 0) {
            s_links[i].fd = fd;
            s_links[i].pending = 0;
            s_links[i].inbound = 0;
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
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", path);
    FILE *f = fopen(partial, "w");
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
               "\"crc_errors\": %u, \"framing_errors\": %u, \"replays\": %u, \"executed\": %u, "
               "\"faults\": {\"dropped\": %lu, \"corrupted\": %lu, \"duplicated\": %lu, \"delayed\": %lu, \"garbage\": %lu}}\n",
            cells, programmed[0], programmed[1], programmed[2], verified[0], verified[1], verified[2],
            (unsigned long long)s->pulses, (unsigned long long)s->reads, (unsigned long long)s->verify_iterations,
            s->frames_received, s->crc_errors, s->framing_errors, s->replays, s->executed,
            s_injected[0], s_injected[1], s_injected[2], s_injected[3], s_injected[4]);
    fclose(f);
    rename(partial, path); /* a reader never sees half an audit */
}

static int usage(void)
{
    fprintf(stderr,
            "usage: swim-board [--tcp HOST:PORT] [--pty LINK] [--geometry TILESxROWSxCOLUMNS] [--seed N] [--audit FILE]\n"
            "                  [--row-reads] [--faults drop=0.01,corrupt=0.01,duplicate=0.005,delay=0.01,maxdelay=50ms,garbage=0.001]\n"
            "  serves the Swim protocol, version 2, from the portable firmware core over a simulated RRAM array.\n"
            "  --tcp 127.0.0.1:0 picks a free port; --pty - makes a pseudo-terminal without a link to it.\n"
            "  Prints 'pty PATH' and 'tcp HOST:PORT' once listening; on SIGTERM or SIGINT writes --audit and exits,\n"
            "  on SIGUSR1 writes it and goes on.\n"
            "  --row-reads reads rectangles a row per operation (IDENTIFY then states cells_per_read = columns).\n"
            "  --faults damages frames both ways at those rates per frame, as swim emulator --faults does.\n");
    return 2;
}

static void serve(int listener, int pty, const char *audit, const sim_array *array)
{
    while (!s_stop) {
        if (s_dump && audit != NULL) {
            s_dump = 0;
            write_audit(audit, array); /* SIGUSR1: the audit so far, the board running on */
        }
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
        if (poll(fds, n, release_delayed(200)) <= 0) {
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
                receive(owner[i], buffer, (size_t)got);
            } else if (fds[i].fd != pty && (got == 0 || errno != EINTR)) {
                close(owner[i]->fd); /* sessions outlive the connection (section 1.3) */
                owner[i]->fd = -1;
                for (int k = 0; k < MAX_DELAYED; k++) {
                    if (s_delayed[k].used && s_delayed[k].owner == owner[i]) {
                        s_delayed[k].used = 0; /* frames in flight on a closed connection are lost with it */
                        free(s_delayed[k].bytes);
                    }
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    const char *tcp = NULL, *pty_link = NULL, *audit = NULL;
    uint32_t tiles = 4, rows = 256, columns = 256;
    uint64_t seed = 1;
    int row_reads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--row-reads") == 0) {
            row_reads = 1; /* a flag: no value follows */
            continue;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) return usage();
        if (strcmp(argv[i], "--tcp") == 0) tcp = value;
        else if (strcmp(argv[i], "--pty") == 0) pty_link = value;
        else if (strcmp(argv[i], "--audit") == 0) audit = value;
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(value, NULL, 10);
        else if (strcmp(argv[i], "--faults") == 0) {
            if (!parse_faults(value)) {
                fprintf(stderr, "swim-board: --faults '%s': each part is NAME=RATE with a rate from 0 to 1 (drop, corrupt, duplicate, delay, garbage) or maxdelay=MILLISECONDSms\n", value);
                return 2;
            }
        }
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
    sim_array_hal(&array, &hal, row_reads);
    if (row_reads) {
        config.cells_per_read = (uint16_t)columns; /* one read operation covers a row */
    }
    swim_cell_counters *counters = calloc((size_t)tiles * rows * columns, sizeof *counters);
    s_faults.max_delay_ms = s_faults.max_delay_ms == 0 ? 50 : s_faults.max_delay_ms;
    s_fault_random ^= seed * 0x9E3779B97F4A7C15ull;
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
    struct sigaction dump = {0};
    dump.sa_handler = on_dump;
    sigaction(SIGUSR1, &dump, NULL);
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
    serve(listener, pty, audit, &array);
    if (audit != NULL) {
        write_audit(audit, &array);
    }
    if (pty_link != NULL && strcmp(pty_link, "-") != 0) {
        unlink(pty_link);
    }
    return 0;
}
