/* kiln-project-private.h: what the files of KilnProject share.
 *
 * KilnProject is one object whose store code is too long for one file:
 * kiln-project.c (opening, transactions, classes, images),
 * kiln-project-curation.c (flags, discard, restore and their crash
 * journal), kiln-project-splits.c, kiln-project-downloads.c and
 * kiln-project-placeholders.c. The SQL helpers below run with the
 * project's lock held by the caller. */
#pragma once

#include <sqlite3.h>

#include "kiln-project.h"

G_BEGIN_DECLS

struct _KilnProject
{
  GObject     parent_instance;

  char       *path;
  char       *db_path;
  sqlite3    *db;
  GRecMutex   lock;
  GHashTable *statements;   /* SQL text → sqlite3_stmt */
  guint       depth;        /* open transactions (savepoints when > 1) */
};

/* Sets @error from SQLite's last message, naming @what; returns FALSE. */
gboolean      kiln_project_sql_fail      (KilnProject   *self,
                                          GError       **error,
                                          const char    *what);
/* A cached statement for @sql, reset and unbound. */
sqlite3_stmt *kiln_project_sql_prepare   (KilnProject   *self,
                                          const char    *sql,
                                          GError       **error);
/* Steps @stmt to its end and resets it. */
gboolean      kiln_project_sql_step_done (KilnProject   *self,
                                          sqlite3_stmt  *stmt,
                                          GError       **error);
void          kiln_project_bind_text     (sqlite3_stmt  *stmt,
                                          int            index,
                                          const char    *text);
/* A copy of a text column, NULL for SQL NULL. */
char         *kiln_project_column_text   (sqlite3_stmt  *stmt,
                                          int            index);
gint64        kiln_project_now_seconds   (void);
/* Takes the lock and opens a transaction (a savepoint when nested);
 * kiln_project_finish() commits when @ok, else rolls back, and unlocks. */
gboolean      kiln_project_begin         (KilnProject   *self,
                                          GError       **error);
gboolean      kiln_project_finish        (KilnProject   *self,
                                          gboolean       ok,
                                          GError       **error);
/* The id of class @name, creating it; 0 for a NULL name. Lock held. */
gboolean      kiln_project_ensure_class  (KilnProject   *self,
                                          const char    *name,
                                          gint64        *id,
                                          GError       **error);
/* Finishes the file moves a crash interrupted (kiln-project-curation.c). */
gboolean      kiln_project_replay_pending_moves (KilnProject  *self,
                                                 GError      **error);

/* Shared by the curation and class edits (kiln-project-curation.c). */
/* Renames @src to @dst (absolute), making @dst's folder; refuses to
 * replace an existing @dst. */
gboolean      kiln_project_move_file     (const char    *src,
                                          const char    *dst,
                                          GError       **error);
/* Removes the journal entry of @image_id (a move that is done). */
gboolean      kiln_project_delete_pending_move (KilnProject  *self,
                                                gint64        image_id,
                                                GError      **error);
/* @candidate, or with "-N" before its extension when the store or the
 * disk has it. Lock held. */
char         *kiln_project_free_destination    (KilnProject  *self,
                                                const char   *candidate);
/* discarded/<reason>/<the path below images/>, numbered when taken. */
char         *kiln_project_discard_destination (KilnProject  *self,
                                                const char   *path,
                                                const char   *reason);
/* Removes empty folders from @relative's parent up to (not including)
 * @stop. */
void          kiln_project_prune_empty_parents (KilnProject  *self,
                                                const char   *relative,
                                                const char   *stop);
/* Whether @name can be a folder under images/ (sets @error if not). */
gboolean      kiln_project_check_class_folder  (const char   *name,
                                                GError      **error);

G_END_DECLS
