#!/usr/bin/env perl
# SPDX-License-Identifier: MIT
# gen-man.pl: the section 3 man pages of libsquibcore, generated from the
# /** ... */ doc comments of the public headers, so that they cannot drift
# from them (docs/MANPAGES.md).
#
#   perl scripts/gen-man.pl --map lib/libsquibcore.map --outdir DIR \
#       [--version 0.3.0] [--date 2026-12-02] [--description TEXT] HEADER...
#
# Writes DIR/NAME.3 for every name of the map (both nodes, all nodes) and
# DIR/libsquibcore.3, the overview, and removes any other *.3 of DIR. The
# HEADERs are the installed ones: include/squib/*.h and the version.h that
# CMake configures from version.h.in (the #include line of a page names
# squib/BASENAME).
#
# Fails (exit 1, every problem as FILE:LINE: message, nothing written) when:
#   - a SQUIB_API function has no doc comment right before it;
#   - a name of the map is declared in no header;
#   - a header declares a SQUIB_API function that the map does not list;
#   - a doc comment uses a @command this generator does not render;
#   - a "Since X.Y" of a function's comment (or of its header's comment,
#     "Since X.Y (every declaration of this header)") disagrees with the
#     map's node, or a function of a node later than the first says no
#     "Since" at all.
#
# What it reads of a comment: the first sentence is the NAME summary; the
# text up to the tags is the DESCRIPTION; "@param NAME text" a list of it;
# "@return text" the RETURN VALUE; a "Thread-safety:" paragraph the THREAD
# SAFETY (the header's, when the function has none); "Lifetime:" stays in
# the DESCRIPTION. A tag or label runs to a blank line or the next tag.
# In the text, "@p x" is italic, "@c x" and `x` bold, "name()" bold; lines
# starting "N. " or "- " are lists, lines starting "|" a table, kept as is.
# The header's own comment (its @file block) becomes the NOTES.
# Only modules of perl-base are used: the generator runs wherever dpkg does.
use strict;
use warnings;
use File::Basename qw(basename);
use File::Path qw(make_path);
use Getopt::Long qw(GetOptions);

my ($map_path, $outdir);
my $version = '';
my $date = '';
my $description = 'guest-memory core of the squib microVM monitor';
GetOptions(
	'map=s' => \$map_path,
	'outdir=s' => \$outdir,
	'version=s' => \$version,
	'date=s' => \$date,
	'description=s' => \$description,
) or usage();
usage() unless defined $map_path && defined $outdir && @ARGV;
my @header_paths = @ARGV;
if ($date eq '') {
	my @t = gmtime(defined $ENV{SOURCE_DATE_EPOCH} ? $ENV{SOURCE_DATE_EPOCH} : time);
	$date = sprintf('%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3]);
}

sub usage {
	print STDERR "usage: $0 --map MAP --outdir DIR [--version V] [--date YYYY-MM-DD]"
	    . " [--description TEXT] HEADER...\n";
	exit 2;
}

my @errors;
sub error { push @errors, "$_[0]:$_[1]: $_[2]" }

# ---------------------------------------------------------------- the map
# Nodes in order, with their global names and the line of each name. The
# same reading as scripts/map-nodes.sh: /* */ and # comments dropped, then
# "NODE {" opens a node, "}" closes it, global:/local: switch the scope.
my (@nodes, %node_of, %map_line);
{
	open(my $fh, '<', $map_path) or die "gen-man: cannot read $map_path: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	$text =~ s{/\*.*?\*/}{ my $c = $&; $c =~ tr/\n//cd; $c }gse;
	$text =~ s{#[^\n]*}{}g;
	my @tok;
	my $line = 1;
	for my $piece (split /(\n)/, $text) {
		if ($piece eq "\n") { $line++; next }
		push @tok, [$_, $line] for $piece =~ /([^\s{};:]+|[{};:])/g;
	}
	my ($node, $scope);
	for (my $i = 0; $i < @tok; $i++) {
		my ($t, $l) = @{$tok[$i]};
		if (!defined $node) {
			if ($i + 1 < @tok && $tok[$i + 1][0] eq '{') {
				($node, $scope) = ($t, 'global');
				push @nodes, { name => $t, names => [] };
				$i++;
			}
			next;
		}
		if ($t eq '}') {
			undef $node;
		} elsif (($t eq 'global' || $t eq 'local') && $i + 1 < @tok && $tok[$i + 1][0] eq ':') {
			$scope = $t;
			$i++;
		} elsif ($t ne ';' && $scope eq 'global') {
			next if exists $node_of{$t};
			$node_of{$t} = $node;
			$map_line{$t} = $l;
			push @{$nodes[-1]{names}}, $t;
		}
	}
	die "gen-man: no global name in $map_path\n" unless %node_of;
}

# "SQUIB_CORE_0.3" -> "0.3": the release series a node belongs to.
sub node_series {
	my ($node) = @_;
	return $node =~ /_(\d+\.\d+)$/ ? $1 : undef;
}
for my $n (@nodes) {
	die "gen-man: $map_path: node $n->{name} does not end in _MAJOR.MINOR\n"
	    unless defined node_series($n->{name});
}

# ---------------------------------------------------------------- headers
my (@headers, %func);

# The lines of a doc comment's body, " * " prefixes removed, relative
# indentation kept, leading and trailing blank lines dropped. $comment_skipped
# counts the leading ones, for line numbers.
my $comment_skipped = 0;
sub comment_lines {
	my ($body) = @_;
	my @lines = split /\n/, $body, -1;
	for (@lines) {
		s/^\s*\*(?: |\t|$)//;
		s/^\s*\*$//;
		s/\s+$//;
	}
	# The first line follows "/**" on the same line: no prefix to strip.
	$lines[0] =~ s/^\s+// if @lines;
	$comment_skipped = 0;
	while (@lines && $lines[0] eq '') {
		shift @lines;
		$comment_skipped++;
	}
	pop @lines while @lines && $lines[-1] eq '';
	return @lines;
}

sub parse_header {
	my ($path) = @_;
	open(my $fh, '<', $path) or die "gen-man: cannot read $path: $!\n";
	my $src = do { local $/; <$fh> };
	close $fh;
	my $base = basename($path);
	my $h = { path => $path, include => "squib/$base", funcs => [], items => [],
		file_doc => undef };
	# Bare markers, no statement of their own.
	$src =~ s/\b(SQUIB_BEGIN_DECLS|SQUIB_END_DECLS)\b/' ' x length($1)/ge;

	my @items;
	my ($stmt, $stmt_line, $depth, $line) = ('', 0, 0, 1);
	my $len = length $src;
	my $i = 0;
	my $at_line_start = 1;
	while ($i < $len) {
		my $two = substr($src, $i, 2);
		if ($two eq '/*') {
			my $end = index($src, '*/', $i + 2);
			die "gen-man: $path:$line: unterminated comment\n" if $end < 0;
			my $raw = substr($src, $i, $end + 2 - $i);
			my $start = $line;
			$line += ($raw =~ tr/\n//);
			$i = $end + 2;
			if ($depth > 0) {
				$stmt .= $raw; # member docs stay with their struct or enum
			} elsif ($raw =~ m{^/\*\*<(.*)\*/$}s) {
				$items[-1]{trailing} //= $1 if @items;
			} elsif ($raw =~ m{^/\*\*(?!/)(.*)\*/$}s) {
				push @items, { kind => 'doc', body => $1, line => $start };
			}
			next;
		}
		if ($two eq '//') {
			my $end = index($src, "\n", $i);
			$i = $end < 0 ? $len : $end;
			next;
		}
		my $c = substr($src, $i, 1);
		if ($c eq '#' && $at_line_start && $depth == 0 && $stmt !~ /\S/) {
			# A directive, with its continuation lines; a /**< */ on it is
			# its trailing doc, other comments go.
			my $start = $line;
			my $text = '';
			while ($i < $len) {
				my $nl = index($src, "\n", $i);
				$nl = $len if $nl < 0;
				my $part = substr($src, $i, $nl - $i);
				# A comment opened on the line and closed on a later one.
				while ($part =~ m{/\*(?:(?!\*/).)*$}s && $nl < $len) {
					my $close = index($src, '*/', $nl);
					last if $close < 0;
					$nl = index($src, "\n", $close);
					$nl = $len if $nl < 0;
					$part = substr($src, $i, $nl - $i);
				}
				$text .= $part;
				$line += ($part =~ tr/\n//);
				$i = $nl;
				last unless $part =~ /\\$/;
				$text =~ s/\\$/ /;
				$i++;
				$line++;
			}
			my $trailing;
			$trailing = $1 if $text =~ s{/\*\*<(.*?)\*/}{ }s;
			$text =~ s{/\*.*?\*/}{ }gs;
			push @items, { kind => 'pp', text => $text, line => $start,
				defined $trailing ? (trailing => $trailing) : () };
			next;
		}
		if ($c eq "\n") {
			$line++;
			$at_line_start = 1;
		} elsif ($c !~ /\s/) {
			$at_line_start = 0;
		}
		$stmt_line = $line if $stmt !~ /\S/ && $c =~ /\S/;
		$stmt .= $c;
		$depth++ if $c eq '{';
		$depth-- if $c eq '}';
		if ($c eq ';' && $depth == 0) {
			push @items, { kind => 'decl', text => $stmt, line => $stmt_line };
			$stmt = '';
		}
		$i++;
	}

	# Doc comments go to the next #define or declaration; conditionals
	# (#ifdef __cplusplus ...) in between do not take them.
	my $pending;
	my %seen_macro;
	for my $it (@items) {
		if ($it->{kind} eq 'doc') {
			if ($it->{body} =~ /\@file\b/) {
				$h->{file_doc} = $it;
			} elsif ($it->{body} =~ /^\s*\@(?:name\b|\{|\})/) {
				# a member group of Doxygen: its members carry their own docs
			} else {
				$pending = $it;
			}
			next;
		}
		if ($it->{kind} eq 'pp') {
			my ($name) = $it->{text} =~ /^\s*#\s*define\s+(\w+)/ or next;
			my $doc = $pending;
			undef $pending;
			next if $name =~ /_H$/ && $it->{text} =~ /^\s*#\s*define\s+\w+\s*$/;
			next if $seen_macro{$name}++;
			my $body = defined $doc ? $doc->{body} : $it->{trailing};
			push @{$h->{items}}, { kind => 'macro', name => $name, line => $it->{line},
				body => $body } if defined $body;
			next;
		}
		my $doc = $pending;
		undef $pending;
		my $text = $it->{text};
		(my $plain = $text) =~ s{/\*.*?\*/}{ }gs;
		$plain =~ s/\s+/ /g;
		$plain =~ s/^ //;
		$plain =~ s/ ?;$//;
		if ($plain =~ /\bSQUIB_API\b/) {
			$plain =~ s/\b(?:SQUIB_API|SQUIB_NODISCARD)\b ?//g;
			$plain =~ s/^ //;
			my ($ret, $name, $params) = $plain =~ /^(.*?)\b([A-Za-z_]\w*) ?\((.*)\)$/s;
			if (!defined $name) {
				error($path, $it->{line}, "a SQUIB_API declaration that is not a function prototype");
				next;
			}
			if (!defined $doc) {
				error($path, $it->{line}, "$name has no doc comment (/** ... */) right before it");
				next;
			}
			$ret =~ s/ $//;
			my $f = { name => $name, ret => $ret, params => split_params($params),
				line => $it->{line}, doc => $doc, header => $h };
			push @{$h->{funcs}}, $f;
			if (exists $func{$name}) {
				error($path, $it->{line}, "$name is also declared in $func{$name}{header}{path}");
			}
			$func{$name} //= $f;
		} elsif ($plain =~ /^typedef\b/ && defined $doc) {
			my $name;
			if ($plain =~ /^typedef (?:struct|union|enum)\b[^{]*\{/) {
				($name) = $plain =~ /\}\s*(\w+)$/;
			} elsif ($plain =~ /\(\s*\*\s*(\w+)\s*\)\s*\(/) {
				$name = $1;
			} else {
				($name) = $plain =~ /(\w+)$/;
			}
			my @values;
			if ($plain =~ /^typedef enum\b/) {
				while ($text =~ m{/\*\*(.*?)\*/\s*(\w+)\s*(?:=|,|\})}gs) {
					push @values, { name => $2, body => $1 };
				}
			}
			push @{$h->{items}}, { kind => 'type', name => $name, line => $it->{line},
				body => $doc->{body}, values => \@values };
		}
	}
	return $h;
}

# "const squib_mem_t *mem, squib_gpa_t addr" -> [[type, name], ...]; a
# parameter without a name ("void") has an empty name.
sub split_params {
	my ($s) = @_;
	my @out;
	my ($depth, $cur) = (0, '');
	for my $c (split //, $s) {
		$depth++ if $c eq '(';
		$depth-- if $c eq ')';
		if ($c eq ',' && $depth == 0) {
			push @out, $cur;
			$cur = '';
			next;
		}
		$cur .= $c;
	}
	push @out, $cur;
	my @params;
	for my $p (@out) {
		$p =~ s/^ //;
		$p =~ s/ $//;
		if ($p =~ /^(.*[ *])(\w+)$/ && $p ne 'void') {
			push @params, [$1, $2];
		} else {
			push @params, [$p, ''];
		}
	}
	return \@params;
}

push @headers, parse_header($_) for @header_paths;

# ------------------------------------------------------- doc comment text
my %known_tags = map { $_ => 1 } qw(param return returns p c file brief name);

# Splits a function's doc comment into description lines, params, return
# and thread-safety, and checks its @commands.
sub split_doc {
	my ($body, $path, $line0) = @_;
	my @lines = comment_lines($body);
	$line0 += $comment_skipped;
	my %d = (desc => [], params => [], return => [], thread => []);
	my $cur = $d{desc};
	my $n = 0;
	for my $l (@lines) {
		$n++;
		while ($l =~ /(?<![\w\\])\@(\w+|\{|\})/g) {
			error($path, $line0 + $n - 1, "doc comment uses \@$1, which gen-man.pl does not render")
			    unless $known_tags{$1};
		}
		if ($l eq '') {
			$cur = $d{desc};
			push @$cur, '';
		} elsif ($l =~ /^\@param\s+(\w+)\s*(.*)$/) {
			push @{$d{params}}, [$1, [$2]];
			$cur = $d{params}[-1][1];
		} elsif ($l =~ /^\@returns?\s*(.*)$/) {
			$cur = $d{return};
			push @$cur, $1;
		} elsif ($l =~ /^Thread-safety:\s*(.*)$/) {
			$cur = $d{thread};
			push @$cur, $1;
		} elsif ($l =~ /^Lifetime:/) {
			$cur = $d{desc};
			push @$cur, '', $l;
		} else {
			(my $t = $l) =~ s/^\s+// unless $cur == $d{desc};
			push @$cur, defined $t ? $t : $l;
		}
	}
	# Tags interrupt the description, which may then hold runs of blanks.
	my @desc;
	for my $l (@{$d{desc}}) {
		next if $l eq '' && (!@desc || $desc[-1] eq '');
		push @desc, $l;
	}
	pop @desc while @desc && $desc[-1] eq '';
	$d{desc} = \@desc;
	return \%d;
}

# The header's own comment: its brief, its body (for NOTES) and its
# Thread-safety paragraph.
sub header_doc {
	my ($h) = @_;
	return ($h->{hdoc} //= do {
		my %r = (brief => [], body => [], thread => [], since => undef);
		if ($h->{file_doc}) {
			my @lines = comment_lines($h->{file_doc}{body});
			my $cur;
			for my $l (@lines) {
				if ($l =~ /^\@file\b/) {
					next;
				} elsif ($l =~ /^\@brief\s+(.*)$/) {
					$cur = $r{brief};
					push @$cur, $1;
				} elsif ($l eq '') {
					$cur = $r{body};
					push @$cur, '' if @$cur;
				} elsif ($l =~ /^Thread-safety:\s*(.*)$/) {
					$cur = $r{thread};
					push @$cur, $1;
				} else {
					$cur //= $r{body};
					(my $t = $l) =~ s/^\s+// if $cur == $r{brief};
					push @$cur, defined $t ? $t : $l;
				}
			}
			pop @{$r{body}} while @{$r{body}} && $r{body}[-1] eq '';
			# "Since 0.3 (every declaration of this header)."
			my $all = join("\n", @lines);
			$r{since} = $1 if $all =~ /\bSince (\d+\.\d+) \(every declaration/;
			# Only a body that says more than its Since line goes to NOTES.
			my $says = join(' ', @{$r{body}});
			$says =~ s/\bSince \d+\.\d+ \(every declaration of this header\)\.//;
			$r{body} = [] unless $says =~ /\S/;
		}
		\%r;
	});
}

# Plain text: markup gone (NAME lines, summaries).
sub plain {
	my ($s) = @_;
	$s =~ s/\@[pc]\s+//g;
	$s =~ s/`([^`]*)`/$1/g;
	return $s;
}

sub first_sentence {
	my ($s) = @_;
	$s =~ s/\s+/ /g;
	$s =~ s/^ //;
	if ($s =~ /^(.*?(?<!\be\.g)(?<!\bi\.e)\.)(?: |$)/) {
		$s = $1;
	}
	$s =~ s/\.$//;
	# A long first sentence loses its asides, then its last clauses, then
	# what follows its colon: a NAME line is a summary, the page has the rest.
	return $s if length($s) <= 90;
	1 while $s =~ s/ \((?:[^()]|\([^()]*\))*\)//;
	while (length($s) > 120) {
		my ($depth, $cut) = (0, -1);
		for my $k (0 .. length($s) - 2) {
			my $c = substr($s, $k, 1);
			$depth++ if $c eq '(' || $c eq '[';
			$depth-- if $c eq ')' || $c eq ']';
			$cut = $k if $depth == 0 && substr($s, $k, 2) eq ', ';
		}
		last if $cut < 0;
		$s = substr($s, 0, $cut);
	}
	$s = $1 if length($s) > 120 && $s =~ /^(.{20,}?): /;
	return $s;
}

sub summary_of {
	my ($lines) = @_;
	my @para;
	for my $l (@$lines) {
		last if $l eq '' && @para;
		push @para, $l;
	}
	my $s = first_sentence(plain(join(' ', @para)));
	$s = lcfirst $s if $s =~ /^[A-Z](?:[a-z]|\s)/;
	return $s;
}

# Escapes text for a roff text line; \x01 \x03 \x02 mark bold, italic, end.
sub esc {
	my ($s) = @_;
	$s =~ s/\\/\\e/g;
	$s =~ s/->/\\->/g;
	# A minus sign: an option, a negative number; a hyphen otherwise.
	$s =~ s/(^|[\s(\[\x01\x03"'])-(?=[\w.])/$1\\-/g;
	$s =~ s/\x01/\\fB/g;
	$s =~ s/\x03/\\fI/g;
	$s =~ s/\x02/\\fP/g;
	return $s;
}

# Markup of one line of comment text, escaped for roff.
sub inline {
	my ($s) = @_;
	$s =~ s/\@p\s+(\w+)/\x03$1\x02/g;
	$s =~ s/\@c\s+(\w+(?:(?:->|\.)\w+)*)/\x01$1\x02/g;
	$s =~ s/`([^`]+)`/\x01$1\x02/g;
	$s =~ s/\b([A-Za-z_]\w*)\(\)/\x01$1\x02()/g;
	return esc($s);
}

# A text line for the output: never starting with . or ' (a request).
sub textline {
	my ($s) = @_;
	$s =~ s/^\s+//;
	$s = "\\&$s" if $s =~ /^[.']/;
	return $s;
}

# Renders comment lines as paragraphs, lists and tables.
package Out {
	sub new { my ($class) = @_; return bless { lines => [] }, $class }
	sub push_line { my ($self, @l) = @_; push @{$self->{lines}}, @l }
	sub last_req {
		my ($self) = @_;
		return @{$self->{lines}} ? $self->{lines}[-1] : '';
	}
	# A paragraph break, unless one is implied by what came before.
	sub para {
		my ($self) = @_;
		my $last = $self->last_req;
		return if $last =~ /^\.(?:SH|SS|PP|TP|IP|RS)\b/ || $last eq '';
		$self->push_line('.PP');
	}
	# A request that starts its own paragraph: drops a .PP just before it.
	sub block {
		my ($self, @l) = @_;
		pop @{$self->{lines}} if $self->last_req eq '.PP';
		$self->push_line(@l);
	}
	# The page; text lines longer than 80 bytes are wrapped at spaces
	# (the same text in fill mode), never those of .nf or .EX blocks.
	sub text {
		my ($self) = @_;
		my @out;
		my $nofill = 0;
		for my $l (@{$self->{lines}}) {
			$nofill = 1 if $l =~ /^\.(?:nf|EX)\b/;
			$nofill = 0 if $l =~ /^\.(?:fi|EE)\b/;
			if ($nofill || $l =~ /^[.']/ || length($l) <= 80) {
				push @out, $l;
				next;
			}
			my $cur = '';
			for my $w (split / /, $l) {
				if ($cur ne '' && length($cur) + 1 + length($w) > 80) {
					push @out, $cur;
					$cur = $w =~ /^[.']/ ? "\\&$w" : $w;
				} else {
					$cur = $cur eq '' ? $w : "$cur $w";
				}
			}
			push @out, $cur if $cur ne '';
		}
		return join("\n", @out) . "\n";
	}
}

sub render_text {
	my ($out, $lines) = @_;
	my $nested = 0; # inside .RS of a nested list
	my $in_list = 0;
	my $in_table = 0;
	my $close = sub {
		if ($in_table) { $out->push_line('.EE'); $in_table = 0 }
		if ($nested) { $out->push_line('.RE'); $nested = 0 }
	};
	for my $l (@$lines) {
		if ($l eq '') {
			$close->();
			$in_list = 0;
			$out->para;
			next;
		}
		if ($l =~ /^\|/) {
			if (!$in_table) {
				$close->();
				$out->para;
				$out->push_line('.EX');
				$in_table = 1;
			}
			(my $t = $l) =~ s/\\/\\e/g;
			$t = "\\&$t" if $t =~ /^[.']/;
			$out->push_line($t);
			next;
		}
		$close->() if $in_table;
		if ($l =~ /^(\d+)\.\s+(.*)$/) {
			if ($nested) { $out->push_line('.RE'); $nested = 0 }
			$out->block(".IP $1. 4");
			$out->push_line(textline(inline($2)));
			$in_list = 1;
		} elsif ($l =~ /^(\s*)-\s+(.*)$/) {
			if (length($1) > 0 && $in_list == 1) {
				$out->push_line('.RS 4') unless $nested;
				$nested = 1;
				$out->push_line('.IP \(bu 2');
			} elsif (!$nested) {
				$out->block('.IP \(bu 2');
				$in_list = 2;
			} else {
				$out->push_line('.IP \(bu 2');
			}
			$out->push_line(textline(inline($2)));
		} elsif ($in_list && $l !~ /^\s/) {
			# Unindented text after a list: a paragraph of its own.
			$close->();
			$in_list = 0;
			$out->para;
			$out->push_line(textline(inline($l)));
		} else {
			$out->push_line(textline(inline($l)));
		}
	}
	$close->();
}

# ------------------------------------------------------------ the checks
for my $h (@headers) {
	for my $f (@{$h->{funcs}}) {
		if (!exists $node_of{$f->{name}}) {
			error($h->{path}, $f->{line},
			    "$f->{name} is declared SQUIB_API but $map_path does not list it");
		}
	}
}
for my $n (@nodes) {
	for my $name (@{$n->{names}}) {
		error($map_path, $map_line{$name}, "$name is declared in no public header")
		    unless exists $func{$name};
	}
}
my $first_series = node_series($nodes[0]{name});
for my $name (sort keys %func) {
	my $f = $func{$name};
	next unless exists $node_of{$name};
	my $series = node_series($node_of{$name});
	$f->{d} = split_doc($f->{doc}{body}, $f->{header}{path}, $f->{doc}{line});
	my ($since) = join(' ', comment_lines($f->{doc}{body})) =~ /\bSince (\d+\.\d+)\b/;
	my $where = 'its doc comment';
	if (!defined $since && defined header_doc($f->{header})->{since}) {
		$since = header_doc($f->{header})->{since};
		$where = "the comment of $f->{header}{include}";
	}
	if (defined $since && $since ne $series) {
		error($f->{header}{path}, $f->{line},
		    "$name: $where says Since $since, but $map_path lists it in $node_of{$name}");
	} elsif (!defined $since && $series ne $first_series) {
		error($f->{header}{path}, $f->{line},
		    "$name is in $node_of{$name} but neither its doc comment nor its header says Since $series");
	}
}
if (@errors) {
	print STDERR "gen-man: $_\n" for @errors;
	print STDERR "gen-man: " . scalar(@errors) . " problem(s), no page written\n";
	exit 1;
}

# ------------------------------------------------------------- the pages
my $source = $version ne '' ? "libsquibcore $version" : 'libsquibcore';
my @made;

sub th {
	my ($out, $title, $what) = @_;
	$out->push_line('.\" SPDX-License-Identifier: MIT',
	    ".\\\" Generated by scripts/gen-man.pl from $what; do not edit.",
	    ".TH \U$title\E 3 $date \"$source\" \"libsquibcore Manual\"");
}

sub library_section {
	my ($out) = @_;
	$out->push_line('.SH LIBRARY', 'libsquibcore',
	    '.RB ( \-lsquibcore ;', '.BR "pkg\-config \-\-cflags \-\-libs squib\-core" )');
}

# The prototype in the man-pages style: .BI alternating type and name,
# wrapped after a comma, continuation lines aligned after the "(".
sub synopsis_lines {
	my ($f) = @_;
	my $head = $f->{ret} =~ /\*$/ ? "$f->{ret}$f->{name}(" : "$f->{ret} $f->{name}(";
	my @params = @{$f->{params}};
	my @segs; # per parameter: [type, name, tail]
	for my $k (0 .. $#params) {
		my ($type, $name) = @{$params[$k]};
		push @segs, [$type, $name, $k == $#params ? ');' : ','];
	}
	my @lines;
	my $cur = [[$head, 'B']];
	my $width = length $head;
	my $indent = ' ' x length $head;
	for my $k (0 .. $#segs) {
		my ($type, $name, $tail) = @{$segs[$k]};
		my $w = length($type) + length($name) + length($tail) + 1;
		if ($k > 0 && $width + $w > 72) {
			push @lines, $cur;
			$cur = [[$indent, 'B']];
			$width = length $indent;
		} elsif ($k > 0) {
			push @$cur, [' ', 'B'];
			$width++;
		}
		push @$cur, [$type, 'B'];
		push @$cur, [$name, 'I'] if $name ne '';
		push @$cur, [$tail, 'B'];
		$width += $w - 1;
	}
	push @lines, $cur;
	my @out;
	for my $segs (@lines) {
		# Adjacent segments of one font merge; .BI alternates from bold.
		my @m;
		for my $s (@$segs) {
			if (@m && $m[-1][1] eq $s->[1]) { $m[-1][0] .= $s->[0] } else { push @m, [@$s] }
		}
		if (@m == 1) {
			push @out, ".B \"$m[0][0]\"";
		} else {
			push @out, '.BI ' . join(' ', map { $_->[0] =~ /[\s"]/ || $_->[0] eq ''
			    ? "\"$_->[0]\"" : $_->[0] } @m);
		}
	}
	return @out;
}

sub plain_prototype {
	my ($f) = @_;
	my $head = $f->{ret} =~ /\*$/ ? "$f->{ret}$f->{name}(" : "$f->{ret} $f->{name}(";
	return $head . join(', ', map { $_->[1] eq '' ? $_->[0]
	    : $_->[0] =~ /\*$/ ? "$_->[0]$_->[1]" : "$_->[0] $_->[1]" } @{$f->{params}}) . ');';
}

sub function_page {
	my ($f) = @_;
	my $h = $f->{header};
	my $d = $f->{d};
	my $hd = header_doc($h);
	my $out = Out->new;
	my $name = $f->{name};
	th($out, $name, "<$h->{include}> and " . basename($map_path));
	$out->push_line('.SH NAME', "$name \\- " . esc(summary_of($d->{desc})));
	library_section($out);
	$out->push_line('.SH SYNOPSIS', '.nf', ".B #include <$h->{include}>", '.PP',
	    synopsis_lines($f), '.fi');
	$out->push_line('.SH DESCRIPTION');
	render_text($out, $d->{desc});
	if (@{$d->{params}}) {
		$out->para;
		$out->push_line('Parameters:');
		for my $p (@{$d->{params}}) {
			$out->push_line('.TP', ".I $p->[0]");
			$out->push_line(textline(inline($_))) for @{$p->[1]};
		}
	}
	$out->push_line('.SH RETURN VALUE');
	if (@{$d->{return}}) {
		$out->push_line(textline(inline($_))) for @{$d->{return}};
	} elsif ($f->{ret} eq 'void') {
		$out->push_line("\\fB$name\\fP() returns no value.");
	} else {
		$out->push_line('See');
		if (@{$hd->{body}}) {
			$out->push_line('.B DESCRIPTION', 'and', '.BR NOTES .');
		} else {
			$out->push_line('.BR DESCRIPTION .');
		}
	}
	my @thread = @{$d->{thread}};
	my $from_header = 0;
	if (!@thread && @{$hd->{thread}}) {
		@thread = @{$hd->{thread}};
		$from_header = 1;
	}
	if (@thread) {
		$out->push_line('.SH THREAD SAFETY');
		$out->push_line("As for every function of \\fI<$h->{include}>\\fP:") if $from_header;
		$thread[0] = ucfirst $thread[0] unless $from_header;
		$out->push_line(textline(inline($_))) for @thread;
	}
	my $node = $node_of{$name};
	$out->push_line('.SH VERSIONS', "\\fB$name\\fP() first appeared in libsquibcore "
	    . node_series($node) . '.0, with the symbol version', ".BR $node .");
	if (@{$hd->{body}} || @{$hd->{brief}}) {
		$out->push_line('.SH NOTES');
		my $brief = join(' ', @{$hd->{brief}});
		$brief =~ s/\.$//;
		$out->push_line("The header \\fI<$h->{include}>\\fP:");
		$brief = lcfirst $brief if $brief =~ /^[A-Z](?:[a-z]|\s)/;
		$out->push_line(textline(inline("$brief.")));
		$out->push_line('.PP') if @{$hd->{body}};
		render_text($out, $hd->{body});
	}
	$out->push_line('.SH SEE ALSO');
	my @see = grep { $_ ne $name && exists $node_of{$_} } map { $_->{name} } @{$h->{funcs}};
	$out->push_line(".BR $_ (3),") for @see;
	$out->push_line('.BR libsquibcore (3)');
	return $out->text;
}

sub overview_page {
	my $out = Out->new;
	th($out, 'libsquibcore', 'the public headers and ' . basename($map_path));
	(my $desc = $description) =~ s/^([A-Z](?:[a-z]|\s))/\l$1/;
	$out->push_line('.SH NAME', 'libsquibcore \- ' . esc($desc));
	library_section($out);
	$out->push_line('.SH SYNOPSIS', '.nf', '.B #include <squib/core.h>', '.fi');
	$out->push_line('.SH DESCRIPTION');
	my ($core) = grep { $_->{include} eq 'squib/core.h' } @headers;
	if ($core) {
		my $hd = header_doc($core);
		render_text($out, [@{$hd->{brief}}, '', @{$hd->{body}}]);
		$out->para;
	}
	$out->push_line('Each function has its own page in section 3.',
	    'These are the headers, each with its functions, then its documented types and macros.');
	for my $h (@headers) {
		next unless @{$h->{funcs}} || @{$h->{items}};
		my $hd = header_doc($h);
		$out->push_line(".SS <$h->{include}>");
		$out->push_line(textline(inline($_))) for @{$hd->{brief}};
		for my $f (@{$h->{funcs}}) {
			$out->push_line('.TP', ".BR $f->{name} (3)", textline(esc(summary_of($f->{d}{desc}))));
		}
		for my $it (@{$h->{items}}) {
			my $s = summary_of([comment_lines($it->{body})]);
			$out->push_line('.TP', ".B $it->{name}", textline(esc($s)));
			if (@{$it->{values} || []}) {
				$out->push_line('.RS');
				for my $v (@{$it->{values}}) {
					my $vs = summary_of([comment_lines($v->{body})]);
					$out->push_line('.TP', ".B $v->{name}", textline(esc($vs)));
				}
				$out->push_line('.RE');
			}
		}
	}
	$out->push_line('.SH VERSIONS');
	my $first = 1;
	for my $n (@nodes) {
		$out->para unless $first;
		$first = 0;
		$out->push_line('Symbol version', ".B $n->{name}",
		    '(libsquibcore ' . node_series($n->{name}) . '.0): '
		    . scalar(@{$n->{names}}) . ' functions.');
	}
	$out->push_line('.SH SEE ALSO', '.BR squib\-mem (1)');
	return $out->text;
}

for my $n (@nodes) {
	for my $name (@{$n->{names}}) {
		push @made, ["$name.3", function_page($func{$name})];
	}
}
push @made, ['libsquibcore.3', overview_page()];

make_path($outdir, { error => \my $ignored });
die "gen-man: cannot create $outdir\n" unless -d $outdir;
my %keep;
for my $m (@made) {
	my ($file, $text) = @$m;
	$keep{$file} = 1;
	my $path = "$outdir/$file";
	open(my $fh, '>', "$path.tmp") or die "gen-man: cannot write $path.tmp: $!\n";
	print $fh $text;
	close $fh or die "gen-man: cannot write $path.tmp: $!\n";
	rename "$path.tmp", $path or die "gen-man: cannot rename $path.tmp: $!\n";
}
opendir(my $dh, $outdir) or die "gen-man: cannot list $outdir: $!\n";
for my $file (readdir $dh) {
	unlink "$outdir/$file" if $file =~ /\.3$/ && !$keep{$file};
}
closedir $dh;
exit 0;
