/* test_video.c - a clip's frames (src/video): a clip encoded here with libavcodec itself (FFV1,
 * lossless, in Matroska), whose frame k has pixel (x, y) = (8k + 3, 16x, 20y), decodes to the
 * frames at t_i = i * duration / n with exactly those pixels; fewer frames than asked; a folder
 * of frames sorted by name; bad input named, with nothing left behind. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video/video.h"
#include "umpire.h"

enum { W = 12, H = 10, FPS = 25, N_CLIP = 24 };
static char dir[256]; /* the test's folder, also its TMPDIR: the decoded frames land there */

static int pixel(int k, int x, int y, int c) {
    return c == 0 ? 8 * k + 3 : c == 1 ? 16 * x : 20 * y;
}

/* n frames at FPS into path with FFV1 (packed RGB: kept exactly); bare: no frame rate and
 * packets without a duration (the header's length then ends where the last frame starts). */
static void encode_clip(const char *path, int n, int bare) {
    AVFormatContext *fmt = NULL;
    assert_true(avformat_alloc_output_context2(&fmt, NULL, "matroska", path) >= 0);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_FFV1);
    assert_non_null(codec);
    AVStream *st = avformat_new_stream(fmt, NULL);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    enc->width = W;
    enc->height = H;
    enc->pix_fmt = AV_PIX_FMT_0RGB32;
    enc->time_base = (AVRational){1, FPS};
    enc->framerate = (AVRational){FPS, 1};
    if (fmt->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    assert_true(avcodec_open2(enc, codec, NULL) >= 0);
    assert_true(avcodec_parameters_from_context(st->codecpar, enc) >= 0);
    st->time_base = enc->time_base;
    if (!bare) /* without it, Matroska stores no default frame duration */
        st->avg_frame_rate = enc->framerate;
    assert_true(avio_open(&fmt->pb, path, AVIO_FLAG_WRITE) >= 0);
    assert_true(avformat_write_header(fmt, NULL) >= 0);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    f->width = W;
    f->height = H;
    f->format = AV_PIX_FMT_0RGB32;
    assert_true(av_frame_get_buffer(f, 0) >= 0);
    for (int k = 0; k <= n; k++) {
        if (k < n) {
            assert_true(av_frame_make_writable(f) >= 0);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) { /* 0RGB32 in memory (little-endian): B, G, R, 0 */
                    uint8_t *p = f->data[0] + y * f->linesize[0] + 4 * x;
                    p[0] = (uint8_t)pixel(k, x, y, 2);
                    p[1] = (uint8_t)pixel(k, x, y, 1);
                    p[2] = (uint8_t)pixel(k, x, y, 0);
                    p[3] = 0;
                }
            f->pts = k;
        }
        assert_true(avcodec_send_frame(enc, k < n ? f : NULL) >= 0);
        while (avcodec_receive_packet(enc, pkt) == 0) {
            av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            if (bare)
                pkt->duration = 0;
            assert_true(av_interleaved_write_frame(fmt, pkt) >= 0);
        }
    }
    assert_true(av_write_trailer(fmt) >= 0);
    avio_closep(&fmt->pb);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    avformat_free_context(fmt);
}

/* Which clip frame a PPM holds (its red), after checking every pixel is that frame's exactly. */
static int frame_of(const char *ppm) {
    FILE *f = fopen(ppm, "rb");
    assert_non_null(f);
    int w, h, max;
    assert_int_equal(fscanf(f, "P6 %d %d %d", &w, &h, &max), 3);
    fgetc(f);
    assert_int_equal(w, W);
    assert_int_equal(h, H);
    assert_int_equal(max, 255);
    uint8_t px[W * H * 3];
    assert_int_equal(fread(px, 1, sizeof px, f), sizeof px);
    fclose(f);
    int k = (px[0] - 3) / 8;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(px[(y * W + x) * 3 + c], pixel(k, x, y, c));
    return k;
}

/* Entries in the test's folder whose name starts with prefix. */
static int count(const char *prefix) {
    DIR *d = opendir(dir);
    int m = 0;
    for (struct dirent *e; (e = readdir(d));)
        m += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return m;
}

static void evenly_spaced(void **state) {
    (void)state;
    char clip[300];
    snprintf(clip, sizeof clip, "%s/clip.mkv", dir);
    encode_clip(clip, N_CLIP, 0);
    char err[UMPIRE_ERR_LEN];
    struct umpire_frames fr;
    /* 24 frames at 25 fps: 0.96 s; t_i = 0.12 i s = frame 3i */
    assert_int_equal(umpire_video_frames(clip, 8, &fr, err), 0);
    assert_int_equal(fr.n, 8);
    assert_non_null(fr.tmpdir);
    for (size_t i = 0; i < fr.n; i++) {
        assert_int_equal(frame_of(fr.paths[i]), 3 * (int)i);
        assert_true(fabs(fr.seconds[i] - 0.12 * (double)i) < 1e-3);
    }
    assert_int_equal(count("umpire-video-"), 1);
    umpire_frames_free(&fr);
    assert_int_equal(count("umpire-video-"), 0); /* the frames and their folder are gone */
    /* 5 frames: t_i = 0.96 i / 5 s = 4.8 i frames -> 0, 5 (4.8 within half a frame), 10, 14, 19 */
    assert_int_equal(umpire_video_frames(clip, 5, &fr, err), 0);
    assert_int_equal(fr.n, 5);
    const int five[5] = {0, 5, 10, 14, 19};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(frame_of(fr.paths[i]), five[i]);
    umpire_frames_free(&fr);
    /* one frame: the first */
    assert_int_equal(umpire_video_frames(clip, 1, &fr, err), 0);
    assert_int_equal(fr.n, 1);
    assert_int_equal(frame_of(fr.paths[0]), 0);
    umpire_frames_free(&fr);
    /* more asked than the clip has: every frame once, in order */
    assert_int_equal(umpire_video_frames(clip, 40, &fr, err), 0);
    assert_int_equal(fr.n, N_CLIP);
    for (size_t i = 0; i < fr.n; i++)
        assert_int_equal(frame_of(fr.paths[i]), (int)i);
    umpire_frames_free(&fr);
    unlink(clip);
    /* packets without durations: the length is still the last frame's end (3 frames asked of 3) */
    encode_clip(clip, 3, 1);
    assert_int_equal(umpire_video_frames(clip, 3, &fr, err), 0);
    assert_int_equal(fr.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(frame_of(fr.paths[i]), (int)i);
    umpire_frames_free(&fr);
    unlink(clip);
}

static void folder_of_frames(void **state) {
    (void)state;
    char frames[300], file[400];
    snprintf(frames, sizeof frames, "%s/frames", dir);
    assert_int_equal(mkdir(frames, 0700), 0);
    char err[UMPIRE_ERR_LEN];
    struct umpire_frames fr;
    assert_int_not_equal(umpire_video_frames(frames, 8, &fr, err), 0);
    assert_non_null(strstr(err, "frames: no files"));
    const char *names[] = {"b.ppm", "a.ppm", "e.ppm", "c.ppm", "d.ppm", ".hidden"};
    for (int i = 0; i < 6; i++) {
        snprintf(file, sizeof file, "%s/%s", frames, names[i]);
        FILE *f = fopen(file, "w");
        fputs("x", f);
        fclose(f);
    }
    snprintf(file, sizeof file, "%s/sub", frames); /* a folder inside is no frame */
    assert_int_equal(mkdir(file, 0700), 0);
    assert_int_equal(umpire_video_frames(frames, 8, &fr, err), 0);
    assert_int_equal(fr.n, 5);
    assert_null(fr.tmpdir);
    assert_null(fr.seconds);
    const char *sorted = "abcde";
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(fr.paths[i][strlen(fr.paths[i]) - 5], sorted[i]);
    umpire_frames_free(&fr);
    /* 2 of 5: files floor(i * 5 / 2) = a, c */
    assert_int_equal(umpire_video_frames(frames, 2, &fr, err), 0);
    assert_int_equal(fr.n, 2);
    assert_non_null(strstr(fr.paths[0], "/a.ppm"));
    assert_non_null(strstr(fr.paths[1], "/c.ppm"));
    umpire_frames_free(&fr);
    snprintf(file, sizeof file, "%s/a.ppm", frames);
    assert_int_equal(access(file, F_OK), 0); /* a folder's own files are kept */
}

static void bad_input(void **state) {
    (void)state;
    char path[300], err[UMPIRE_ERR_LEN];
    struct umpire_frames fr;
    snprintf(path, sizeof path, "%s/notes.mp4", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not a video, only text that says so\n", f);
    fclose(f);
    assert_int_not_equal(umpire_video_frames(path, 8, &fr, err), 0);
    assert_non_null(strstr(err, "notes.mp4: not a video"));
    assert_null(fr.paths);
    assert_int_equal(count("umpire-video-"), 0); /* nothing left behind */
    assert_int_not_equal(umpire_video_frames(path, 0, &fr, err), 0);
    assert_non_null(strstr(err, "0 frames asked (expected 1..64)"));
    assert_int_not_equal(umpire_video_frames(path, 65, &fr, err), 0);
    assert_non_null(strstr(err, "65 frames asked"));
    snprintf(path, sizeof path, "%s/missing.mkv", dir);
    assert_int_not_equal(umpire_video_frames(path, 8, &fr, err), 0);
    assert_non_null(strstr(err, "missing.mkv: cannot open video file"));
    /* a clip with a header and no frames */
    snprintf(path, sizeof path, "%s/empty.mkv", dir);
    encode_clip(path, 0, 0);
    assert_int_not_equal(umpire_video_frames(path, 8, &fr, err), 0);
    assert_non_null(strstr(err, "empty.mkv"));
    assert_int_equal(count("umpire-video-"), 0);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/umpire-test-video-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    setenv("TMPDIR", dir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(evenly_spaced),
        cmocka_unit_test(folder_of_frames),
        cmocka_unit_test(bad_input),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return failed;
}
