// Fill an XForm with JavaRosa (the form engine inside ODK Collect) and print the
// instance XML that Collect would submit after "Save and finalise".
//
//   javac -cp ODK_Validate.jar -d OUTDIR tests/odk/Fill.java
//   java -Djava.awt.headless=true -cp OUTDIR:ODK_Validate.jar Fill FORM.xml MEDIA_DIR ANSWERS_FILE > instance.xml
//
// ANSWERS_FILE: UTF-8, one `ref=value` per line, `#` comments and blank lines ignored.
//   /data/name=Nguyễn Văn An        text / integer / decimal / date (YYYY-MM-DD) / dateTime / time
//   /data/village=11                  select1: a choice value (static items or itemset/CSV)
//   /data/colours=red blue            select (multiple) / rank: space-separated choice values
//   /data/geo=21.02 105.85 12 5       geopoint: lat lon alt acc
//   /data/photo=sig1.jpg              binary: a file name
//   /data/members#=2                  number of repeat entries to add (default 0)
//   /data/members/name=Person {i}     {i} = 1-based index of the innermost enclosing repeat entry
//   /data/x=                          leave unanswered on purpose (Collect "swipe past")
//
// Exit codes: 0 ok; 1 any other failure; 2 a reached question has no answer line;
//             3 JavaRosa refused an answer (required/constraint/not a choice/bad value).

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.javarosa.core.model.Constants;
import org.javarosa.core.model.FormDef;
import org.javarosa.core.model.FormIndex;
import org.javarosa.core.model.SelectChoice;
import org.javarosa.core.model.ValidateOutcome;
import org.javarosa.core.model.data.AnswerDataFactory;
import org.javarosa.core.model.data.IAnswerData;
import org.javarosa.core.model.data.MultipleItemsData;
import org.javarosa.core.model.data.SelectMultiData;
import org.javarosa.core.model.data.SelectOneData;
import org.javarosa.core.model.data.StringData;
import org.javarosa.core.model.data.UncastData;
import org.javarosa.core.model.data.helper.Selection;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.model.instance.TreeElement;
import org.javarosa.core.model.instance.TreeReference;
import org.javarosa.core.reference.InvalidReferenceException;
import org.javarosa.core.reference.Reference;
import org.javarosa.core.reference.ReferenceFactory;
import org.javarosa.core.reference.ReferenceManager;
import org.javarosa.form.api.FormEntryController;
import org.javarosa.form.api.FormEntryModel;
import org.javarosa.form.api.FormEntryPrompt;
import org.javarosa.model.xform.XFormSerializingVisitor;
import org.javarosa.xform.util.XFormUtils;

public class Fill {

    /** Failure carrying the process exit code. */
    static final class FillError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        FillError(int code, String msg) {
            super(msg);
            this.code = code;
        }
    }

    /** A jr:// reference backed by a real file in the media directory. */
    static final class FileReference implements Reference {
        private final String uri;
        private final File file;

        FileReference(String uri, File file) {
            this.uri = uri;
            this.file = file;
        }

        public boolean doesBinaryExist() {
            return file.exists();
        }

        public InputStream getStream() throws IOException {
            return new FileInputStream(file);
        }

        public String getURI() {
            return uri;
        }

        // ExternalInstanceParser opens getLocalURI() as a plain file path (CSV / XML / GeoJSON).
        public String getLocalURI() {
            return file.getAbsolutePath();
        }

        public boolean isReadOnly() {
            return true;
        }

        public OutputStream getOutputStream() throws IOException {
            return new FileOutputStream(file);
        }

        public void remove() throws IOException {
            throw new IOException("read-only reference " + uri);
        }

        public Reference[] probeAlternativeReferences() {
            return new Reference[0];
        }
    }

    /** Resolves jr://file-csv/NAME and jr://file/NAME to MEDIA_DIR/NAME. */
    static final class MediaDirReferenceFactory implements ReferenceFactory {
        private static final String[] PREFIXES = {"jr://file-csv/", "jr://file/"};
        private final File mediaDir;
        final List<String> missing = new ArrayList<>();

        MediaDirReferenceFactory(File mediaDir) {
            this.mediaDir = mediaDir;
        }

        public boolean derives(String uri) {
            for (String p : PREFIXES) {
                if (uri.startsWith(p)) {
                    return true;
                }
            }
            return false;
        }

        public Reference derive(String uri) throws InvalidReferenceException {
            for (String p : PREFIXES) {
                if (uri.startsWith(p)) {
                    File f = new File(mediaDir, uri.substring(p.length()));
                    if (!f.isFile()) {
                        missing.add(uri + " -> " + f.getPath());
                    }
                    return new FileReference(uri, f);
                }
            }
            throw new InvalidReferenceException("not a media reference", uri);
        }

        public Reference derive(String uri, String context) throws InvalidReferenceException {
            return derive(uri);
        }
    }

    public static void main(String[] args) {
        PrintStream realOut = System.out;
        // Keep stdout clean for the instance XML: anything JavaRosa prints goes to stderr.
        System.setOut(System.err);
        if (args.length != 3) {
            System.err.println("usage: Fill FORM.xml MEDIA_DIR ANSWERS_FILE > instance.xml");
            System.exit(1);
        }
        int code;
        try {
            byte[] xml = run(new File(args[0]), new File(args[1]), new File(args[2]));
            realOut.write(xml);
            realOut.flush();
            code = 0;
        } catch (FillError e) {
            System.err.println("Fill: " + e.getMessage());
            code = e.code;
        } catch (Throwable t) {
            System.err.println("Fill: failed: " + t);
            t.printStackTrace(System.err);
            code = 1;
        }
        System.exit(code);
    }

    static byte[] run(File formFile, File mediaDir, File answersFile) throws Exception {
        Map<String, String> answers = readAnswers(answersFile);
        Set<String> used = new HashSet<>();

        MediaDirReferenceFactory media = new MediaDirReferenceFactory(mediaDir);
        ReferenceManager.instance().addReferenceFactory(media);

        FormDef fd;
        try (InputStream in = new FileInputStream(formFile)) {
            fd = XFormUtils.getFormFromInputStream(in);
        }
        // JavaRosa silently falls back to an empty placeholder for a missing external instance.
        if (!media.missing.isEmpty()) {
            throw new FillError(1, "media file(s) not found: " + media.missing);
        }
        // As Collect's FormLoaderTask: new instance -> preloads (start timestamp, uid), xforms-ready, calculates.
        fd.initialize(true, new InstanceInitializationFactory());

        FormEntryModel model = new FormEntryModel(fd);
        FormEntryController fec = new FormEntryController(model);

        int event;
        while ((event = fec.stepToNextEvent()) != FormEntryController.EVENT_END_OF_FORM) {
            FormIndex index = model.getFormIndex();
            if (event == FormEntryController.EVENT_PROMPT_NEW_REPEAT) {
                String ref = genericRef(index.getReference()) + "#";
                int want = 0;
                if (answers.containsKey(ref)) {
                    used.add(ref);
                    try {
                        want = Integer.parseInt(answers.get(ref).trim());
                    } catch (NumberFormatException e) {
                        throw new FillError(1, ref + ": repeat count is not an integer: " + answers.get(ref));
                    }
                }
                // The prompt sits at multiplicity == number of entries that already exist here.
                if (index.getElementMultiplicity() < want) {
                    fec.newRepeat();
                }
            } else if (event == FormEntryController.EVENT_QUESTION) {
                answer(fec, model, index, answers, used);
            }
            // EVENT_GROUP / EVENT_REPEAT / EVENT_REPEAT_JUNCTURE: nothing to do, just step on.
        }

        for (String ref : answers.keySet()) {
            if (!used.contains(ref)) {
                System.err.println("Fill: warning: answer line never used (question not reached, not relevant or readonly): " + ref);
            }
        }

        // "Save and finalise": Collect validates every answer (FormDef.validate() == validate(markCompleted=true)) ...
        ValidateOutcome outcome = fd.validate();
        if (outcome != null && outcome.outcome != FormEntryController.ANSWER_OK) {
            String ref = outcome.failedPrompt == null ? "?" : genericRef(outcome.failedPrompt.getReference());
            throw new FillError(3, ref + ": validation on finalise failed: " + statusName(outcome.outcome));
        }
        // ... then finalizeFormEntry() -> FormDef.postProcessInstance() (xforms-revalidate, end timestamp).
        fec.finalizeFormEntry();

        checkEndTimestamps(fd.getMainInstance().getRoot());

        // Collect's getSubmissionXml(): serialise from the root ("/"), relevance respected.
        return new XFormSerializingVisitor().serializeInstance(fd.getMainInstance());
    }

    static void answer(FormEntryController fec, FormEntryModel model, FormIndex index,
                       Map<String, String> answers, Set<String> used) {
        FormEntryPrompt prompt = model.getQuestionPrompt(index);
        if (prompt.isReadOnly()) {
            return; // notes, readonly fields: Collect shows them but the user cannot answer
        }
        String ref = genericRef(index.getReference());
        if (!answers.containsKey(ref)) {
            throw new FillError(2, "no answer line for question " + ref
                    + " (" + index.getReference().toString(true) + ")");
        }
        used.add(ref);
        String raw = answers.get(ref);
        int pos = repeatPosition(index);
        if (pos > 0) {
            raw = raw.replace("{i}", Integer.toString(pos));
        }

        IAnswerData data;
        if (raw.isEmpty()) {
            // Unanswered on purpose: like swiping past in Collect, re-submit whatever is there
            // (null, or a default value) so required / constraint checks still run.
            data = prompt.getAnswerValue();
        } else {
            data = convert(prompt, ref, raw);
        }

        int status = fec.answerQuestion(index, data, true);
        if (status != FormEntryController.ANSWER_OK) {
            StringBuilder msg = new StringBuilder();
            msg.append(ref).append(" (").append(index.getReference().toString(true)).append("): answer ")
               .append(raw.isEmpty() ? "<empty>" : "'" + raw + "'")
               .append(" refused: ").append(statusName(status));
            String text = null;
            if (status == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
                text = prompt.getConstraintText(data);
            } else if (status == FormEntryController.ANSWER_REQUIRED_BUT_EMPTY) {
                text = prompt.getSpecialFormQuestionText("requiredMsg");
            }
            if (text != null) {
                msg.append(": ").append(text);
            }
            throw new FillError(3, msg.toString());
        }
    }

    /** String -> IAnswerData, the way Collect's widgets build answers. */
    static IAnswerData convert(FormEntryPrompt prompt, String ref, String raw) {
        int control = prompt.getControlType();
        int type = prompt.getDataType();
        if (control == Constants.CONTROL_SELECT_ONE || type == Constants.DATATYPE_CHOICE) {
            return new SelectOneData(findChoice(prompt, ref, raw.trim()).selection());
        }
        if (control == Constants.CONTROL_SELECT_MULTI || control == Constants.CONTROL_RANK
                || type == Constants.DATATYPE_CHOICE_LIST) {
            List<Selection> selections = new ArrayList<>();
            for (String v : raw.trim().split("\\s+")) {
                selections.add(findChoice(prompt, ref, v).selection());
            }
            return control == Constants.CONTROL_RANK
                    ? new MultipleItemsData(selections)
                    : new SelectMultiData(selections);
        }
        if (type == Constants.DATATYPE_BINARY) {
            return new StringData(raw); // Collect stores the media file name as a string
        }
        IAnswerData template = AnswerDataFactory.templateByDataType(type);
        try {
            IAnswerData cast = template.cast(new UncastData(raw));
            if (cast == null) {
                throw new IllegalArgumentException("cast returned null");
            }
            return cast;
        } catch (RuntimeException e) {
            throw new FillError(3, ref + ": value '" + raw + "' refused: CAST_FAILED for data type "
                    + type + " (" + template.getClass().getSimpleName() + "): " + e.getMessage());
        }
    }

    /** Choices include itemset choices (e.g. from a CSV), evaluated against the current answers. */
    static SelectChoice findChoice(FormEntryPrompt prompt, String ref, String value) {
        List<SelectChoice> choices = prompt.getSelectChoices();
        List<String> available = new ArrayList<>();
        if (choices != null) {
            for (SelectChoice c : choices) {
                if (c.getValue().equals(value)) {
                    return c;
                }
                available.add(c.getValue());
            }
        }
        throw new FillError(3, ref + ": value '" + value + "' refused: NOT_A_CHOICE (choices: " + available + ")");
    }

    /** 1-based position of the innermost repeat entry containing this index, or 0 if none. */
    static int repeatPosition(FormIndex index) {
        int pos = 0;
        for (FormIndex level = index; level != null; level = level.getNextLevel()) {
            if (level.getInstanceIndex() >= 0) {
                pos = level.getInstanceIndex() + 1;
            }
        }
        return pos;
    }

    /** /data/members[2]/full_name -> /data/members/full_name */
    static String genericRef(TreeReference ref) {
        return ref.genericize().toString(false).replaceAll("\\[[^\\]]*\\]", "");
    }

    static String statusName(int status) {
        if (status == FormEntryController.ANSWER_OK) {
            return "ANSWER_OK";
        } else if (status == FormEntryController.ANSWER_REQUIRED_BUT_EMPTY) {
            return "ANSWER_REQUIRED_BUT_EMPTY";
        } else if (status == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
            return "ANSWER_CONSTRAINT_VIOLATED";
        }
        return "STATUS_" + status;
    }

    /** Every node with jr:preload="timestamp" jr:preloadParams="end" must now have a value. */
    static void checkEndTimestamps(TreeElement node) {
        if ("timestamp".equals(node.getPreloadHandler()) && "end".equals(node.getPreloadParams())
                && node.getValue() == null) {
            throw new FillError(1, "end timestamp " + node.getRef() + " was not set by postProcessInstance");
        }
        for (int i = 0; i < node.getNumChildren(); i++) {
            checkEndTimestamps(node.getChildAt(i));
        }
    }

    static Map<String, String> readAnswers(File file) throws IOException {
        Map<String, String> answers = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file.toPath(), StandardCharsets.UTF_8)) {
            lineNo++;
            if (lineNo == 1 && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new FillError(1, file + ":" + lineNo + ": expected ref=value: " + line);
            }
            String ref = line.substring(0, eq).trim();
            String value = line.substring(eq + 1);
            if (answers.containsKey(ref)) {
                throw new FillError(1, file + ":" + lineNo + ": duplicate line for " + ref);
            }
            answers.put(ref, value);
        }
        return answers;
    }
}
